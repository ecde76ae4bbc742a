"""The QA commands of `dojo`: `agreement` (chance-corrected agreement between raters' label files) and
`import transcripts` (help-desk exports into the review queue)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dojo.cli.common import EXIT_USAGE
from dojo.transcripts import TranscriptError, read_transcripts
from scoring import agreement as ag
from scoring.inputs import InputError, json_objects, lines, read_text
from simulator.channels import Channel
from simulator.scenario import CRITERIA
from simulator.settings import Settings

LABEL_WORDS = {1: "met", 0: "not met"}  # as the review pages say them


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

    p = sub.add_parser("scorers", help="list, compare, activate and tune the trained classifier versions",
                       description="Trained classifier versions. The active one scores every reply; a retrained "
                                   "or tuned version becomes active only when accepted.")
    ssub = p.add_subparsers(title="commands", metavar="COMMAND")
    lst = ssub.add_parser("list", help="every saved version, newest first", description="Every saved version.")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_scorers_list)
    act = ssub.add_parser("activate", help="make a saved version the active one (also an earlier one)",
                          description="Make a saved version active: after comparing, or to go back.")
    act.add_argument("version", metavar="VERSION")
    act.set_defaults(handler=_scorers_activate)
    cmp_ = ssub.add_parser("compare", help="a version against the active one on the fixed gold set",
                           description="Kappa and macro-F1 per criterion, before (active) and after (VERSION), "
                                       "on the test split of the rubric's labeled files.")
    cmp_.add_argument("version", metavar="VERSION")
    cmp_.set_defaults(handler=_scorers_compare)
    tune = ssub.add_parser("tune", help="thresholds that agree best with the consensus labels",
                           description="Save a new version of the active model whose per-criterion thresholds "
                                       "maximise Cohen's kappa against the consensus labels (not active until "
                                       "accepted).")
    tune.set_defaults(handler=_scorers_tune)

    p = sub.add_parser("import", help="import conversations for review",
                       description="Import data into support-dojo's database.")
    isub = p.add_subparsers(title="what", metavar="WHAT")
    t = isub.add_parser(
        "transcripts", help="help-desk conversations (JSON lines or CSV) into the review queue",
        description="Import conversations exported from a help-desk tool into the review queue. FILE is JSON lines "
                    "or CSV (by its .csv suffix), one message per row: conversation id, role (agent or customer; "
                    "bot kept as context), text, timestamp (ISO 8601 or Unix seconds), optionally agent and "
                    "channel. Every bad row is reported with its row number and nothing is imported; a "
                    "conversation imported before is skipped.",
        epilog="exit status: 0 imported, 2 bad file (nothing imported)")
    t.add_argument("file", type=Path, metavar="FILE")
    t.add_argument("--channel", default="email", choices=[c.value for c in Channel],
                   help="channel of conversations whose rows do not say (default: email)")
    t.set_defaults(handler=_import_transcripts)


def read_rater(path: Path) -> dict[str, dict[str, int | None]]:
    """One rater's labels: criterion -> item id -> 0, 1 or None. Raises InputError listing every bad line."""
    text = read_text(path)
    labels: dict[str, dict[str, int | None]] = {c: {} for c in CRITERIA}
    problems, seen = [], set()
    for number, item in json_objects(text, "id and the four criteria"):
        where = f"{path}:{number}"
        if isinstance(item, str):
            problems.append(f"{where}: {item}")
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
    from dojo.cli.score import parse_score_line
    from dojo.services import Services

    rows = lines(read_text(texts_path))
    items, problems = [], []
    for number, line in enumerate(rows, 1):
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
        why = ag.why_undefined({n: lab[c] for n, lab in raters.items()}, LABEL_WORDS)
        lines.append(f"  {c}: undefined statistics: {why}")
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


def _import_transcripts(args, settings: Settings) -> int:
    from dojo.store import Store, sqlite_url

    try:
        conversations = read_transcripts(args.file, args.channel)
    except TranscriptError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"dojo import: nothing imported from {args.file}", file=sys.stderr)
        return EXIT_USAGE
    db = Store(settings.database_url or sqlite_url(settings.home))
    db.upgrade()
    added = db.import_conversations(conversations, args.file.name)
    replies = sum(c.replies for c in added)
    skipped = len(conversations) - len(added)
    print(f"imported {len(added)} conversations ({replies} agent replies to review) from {args.file}"
          + (f"; {skipped} imported before were skipped" if skipped else ""))
    return 0


def render_comparison(comparison) -> str:
    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines = [f"on the gold set ({comparison.n} replies): {comparison.before or '(none)'} -> {comparison.after}",
             f"{'criterion':<11} {'kappa before':>13} {'after':>7} {'macro-F1 before':>16} {'after':>7}"]
    for c, r in comparison.criteria.items():
        lines.append(f"{c:<11} {f(r.kappa_before):>13} {f(r.kappa_after):>7} {f(r.f1_before):>16} {f(r.f1_after):>7}")
    return "\n".join(lines)


def _scorers_list(args, settings: Settings) -> int:
    from dojo.services import Services
    from scoring import classifier

    cards = classifier.versions(Services.from_settings(settings).scorers_dir)
    if args.json:
        print(json.dumps([{k: c.get(k) for k in ("version", "active", "trained_at", "data", "sources", "tuned_from")}
                          for c in cards], indent=2))
        return 0
    if not cards:
        print("no trained versions: run `dojo train`")
    for c in cards:
        sources = ", ".join(f"{k} {v}" for k, v in (c.get("sources") or {}).items())
        tuned = f" (thresholds tuned from {c['tuned_from']})" if c.get("tuned_from") else ""
        print(f"{'*' if c['active'] else ' '} {c['version']}  {c.get('trained_at', '?')}  {sources}{tuned}")
    return 0


def _scorers_activate(args, settings: Settings) -> int:
    from dojo.services import Services
    from scoring.classifier import NoScorerError

    try:
        Services.from_settings(settings).activate(args.version)
    except NoScorerError as exc:
        print(f"dojo scorers: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"active: {args.version}")
    return 0


def _scorers_compare(args, settings: Settings) -> int:
    from dojo.services import Services
    from scoring.classifier import NoScorerError

    try:
        print(render_comparison(Services.from_settings(settings).compare(args.version)))
    except NoScorerError as exc:
        print(f"dojo scorers: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _scorers_tune(args, settings: Settings) -> int:
    from dojo.calibration import CalibrationError
    from dojo.services import Services

    try:
        tuned, gains = Services.from_settings(settings).tune_thresholds()
    except CalibrationError as exc:
        print(f"dojo scorers: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"saved {tuned.version} (not active); thresholds {tuned.card['thresholds']}")
    for c, (before, after) in gains.items():
        shown = ["undefined" if k is None else f"{k:.3f}" for k in (before, after)]
        print(f"  {c:<11} kappa with the consensus {shown[0]} -> {shown[1]}")
    print(f"accept it with `dojo scorers activate {tuned.version}`")
    return 0
