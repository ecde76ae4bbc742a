"""The QA commands of `dojo`: `agreement` (chance-corrected agreement between raters' label files) and
`import transcripts` (help-desk exports into the review queue)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scoring import agreement as ag
from simulator.scenario import CRITERIA
from simulator.settings import Settings

EXIT_USAGE = 2


class InputError(ValueError):
    """Bad input files: every problem, one line each (file:line: field: message)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def add_commands(sub) -> None:
    p = sub.add_parser(
        "agreement", help="chance-corrected agreement between raters' label files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Agreement between raters, per criterion. Each FILE is one rater (named after the file): JSON "
                    "lines {\"id\": str, \"empathy\": 0|1, \"ownership\": 0|1, \"solution\": 0|1, \"follow_up\": "
                    "0|1}; an absent id, criterion or a null is missing data. Prints per criterion: n (items with "
                    "two or more ratings), percent agreement, Cohen's kappa for every pair of raters and their "
                    "mean, Fleiss' kappa (over the items every rater rated) and Krippendorff's alpha (nominal). A "
                    "statistic that is 0/0 (e.g. every rating the same) is reported as undefined (null).",
        epilog="exit status: 0 done, 2 bad input (every problem listed as file:line: field: message)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="one JSON-lines file per rater")
    p.add_argument("--json", action="store_true", help="print {\"criteria\": {criterion: {...}}} as JSON")
    p.add_argument("--model", action="store_true", help="add the active classifiers as one more rater")
    p.add_argument("--texts", type=Path, metavar="TEXTS.jsonl",
                   help="with --model: the replies to classify, in the `dojo score` input format (id, text)")
    p.set_defaults(handler=_agreement)


def read_rater(path: Path) -> dict[str, dict[str, int | None]]:
    """One rater's labels: criterion -> item id -> 0, 1 or None. Raises InputError listing every bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise InputError([f"{path}: not UTF-8 text"]) from None
    labels: dict[str, dict[str, int | None]] = {c: {} for c in CRITERIA}
    problems, seen = [], set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except ValueError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object with id and the four criteria")
            continue
        ident = item.get("id")
        if not isinstance(ident, str) or not ident:
            problems.append(f"{where}: id: needs a non-empty string, got {ident!r}")
            continue
        if ident in seen:
            problems.append(f"{where}: id: {ident!r} appears twice in this file")
            continue
        seen.add(ident)
        unknown = sorted(set(item) - {"id", *CRITERIA})
        if unknown:
            problems.append(f"{where}: {unknown[0]}: unknown field; fields are id, {', '.join(CRITERIA)}")
        for c in CRITERIA:
            value = item.get(c)
            if value is not None and (isinstance(value, bool) or value not in (0, 1)):
                problems.append(f"{where}: {c}: {value!r} is not 0, 1 or null (id {ident!r})")
                continue
            labels[c][ident] = value
    if not seen and not problems:
        problems.append(f"{path}: no labels in the file")
    if problems:
        raise InputError(problems)
    return labels


def model_rater(texts_path: Path, settings: Settings) -> tuple[str, dict[str, dict[str, int]]]:
    """The active classifiers' verdicts on the replies in TEXTS.jsonl, as one more rater."""
    from scoring.cli import parse_score_line
    from scoring.services import Services

    try:
        lines = texts_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError([f"{texts_path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise InputError([f"{texts_path}: not UTF-8 text"]) from None
    items, problems = [], []
    for number, line in enumerate(lines, 1):
        if line.strip():
            parsed = parse_score_line(line)
            if isinstance(parsed, str):
                problems.append(f"{texts_path}:{number}: {parsed}")
            else:
                items.append(parsed)
    if problems:
        raise InputError(problems)
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    scores = services.scorer.score_many([i.text for i in items])
    labels = {c: {i.id: int(s.criteria[c].verdict) for i, s in zip(items, scores, strict=True)} for c in CRITERIA}
    return f"model:{services.scorer.version}", labels


def compute(raters: dict[str, dict[str, dict[str, int | None]]]) -> dict[str, ag.Agreement]:
    """Per criterion, the statistics over every rater."""
    return {c: ag.agreement({name: labels[c] for name, labels in raters.items()}) for c in CRITERIA}


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "undefined"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def render(results: dict[str, ag.Agreement], raters: dict[str, dict[str, dict]]) -> str:
    lines = [f"{len(raters)} raters: {', '.join(raters)}", "",
             f"{'criterion':<11} {'n':>5} {'all':>5} {'agree':>8} {'mean κ':>9} {'Fleiss κ':>9} {'α':>9}"]
    for c, r in results.items():
        lines.append(f"{c:<11} {r.n:>5} {r.n_complete:>5} {_fmt(r.percent_agreement, True):>8} "
                     f"{_fmt(r.mean_cohen_kappa):>9} {_fmt(r.fleiss_kappa):>9} {_fmt(r.krippendorff_alpha):>9}")
    lines += ["", "Cohen's kappa per pair (items both rated)"]
    for c, r in results.items():
        pairs = "  ".join(f"{p.a}~{p.b} {_fmt(p.cohen_kappa)} (n={p.n})" for p in r.pairwise)
        lines.append(f"  {c:<11} {pairs}")
    undefined = [c for c, r in results.items() if None in (r.fleiss_kappa, r.krippendorff_alpha, r.mean_cohen_kappa)]
    for c in undefined:
        lines.append(f"  {c}: undefined statistics: {ag.why_undefined({n: lab[c] for n, lab in raters.items()})}")
    lines += ["", "n: items with two or more ratings; all: items every rater rated (Fleiss' kappa uses these)."]
    return "\n".join(lines)


def _agreement(args, settings: Settings) -> int:
    if args.model != bool(args.texts):
        print("dojo agreement: --model and --texts go together (the model rates the texts in TEXTS.jsonl)",
              file=sys.stderr)
        return EXIT_USAGE
    raters: dict[str, dict] = {}
    problems: list[str] = []
    for path in args.files:
        name = path.stem if path.stem not in raters else str(path)
        try:
            raters[name] = read_rater(path)
        except InputError as exc:
            problems += exc.problems
    if args.model and not problems:
        try:
            name, labels = model_rater(args.texts, settings)
            raters[name] = labels
        except InputError as exc:
            problems += exc.problems
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_USAGE
    if len(raters) < 2:
        print("dojo agreement: agreement needs two raters or more (give two files, or one and --model --texts)",
              file=sys.stderr)
        return EXIT_USAGE
    results = compute(raters)
    if args.json:
        print(json.dumps({"raters": list(raters), "criteria": {c: r.as_dict() for c, r in results.items()}},
                         indent=2))
    else:
        print(render(results, raters))
    return 0
