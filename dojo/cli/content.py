"""`dojo validate`: scenario files, the rubric and labeled replies."""

from __future__ import annotations

import sys
from pathlib import Path

from dojo.cli.common import EXIT_INVALID
from scoring.rubric import RubricError
from simulator.settings import Settings


def add_commands(sub) -> None:
    p = sub.add_parser("validate", help="check scenario files, the rubric and labeled replies",
                       description="Check scenario files (or folders of them), and a rubrics folder (rubric.yaml "
                                   "against rubric.schema.json, and every labeled reply in its *.jsonl files). "
                                   "Prints one line per problem: file:line: field: message. Exit 0 if all are "
                                   "valid, 1 otherwise.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.set_defaults(handler=_validate)


def _validate(args, settings: Settings) -> int:
    from scoring.rubric import RUBRIC_FILE, Rubric, check_labeled, labeled_files
    from simulator.scenario import load_many, scenario_files

    # A rubrics folder (it holds rubric.yaml) is checked as one; anything else is scenarios.
    rubric_dirs = [p for p in args.paths if p.is_dir() and (p / RUBRIC_FILE).is_file()]
    files, problems = scenario_files([p for p in args.paths if p not in rubric_dirs])
    scenarios, more = load_many(files)
    problems += more
    for folder in rubric_dirs:
        try:
            Rubric.load(folder)
        except RubricError as exc:
            problems += exc.problems
        rows, bad = check_labeled(labeled_files(folder))
        problems += bad
        print(f"{folder}: rubric and {len(rows)} labeled replies checked", file=sys.stderr)
    for problem in problems:
        print(problem)
    if files:
        print(f"{len(scenarios)} of {len(files)} scenario files valid", file=sys.stderr)
    return EXIT_INVALID if problems else 0
