"""`dojo score`: replies from a JSON-lines file, scored on the rubric and the channel rules."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from dojo.cli.common import EXIT_INVALID, EXIT_USAGE
from scoring import inputs
from simulator.channels import Channel
from simulator.settings import Settings


def add_commands(sub) -> None:
    p = sub.add_parser("score", help="score replies from a JSON-lines file",
                       description="Score replies on the four rubric criteria. INPUT has one JSON object per "
                                   "line: {\"id\": str, \"text\": str, \"context\": str (optional), \"channel\": "
                                   "str (optional), \"response_seconds\": number (optional, needs channel)}. One "
                                   "output line per input line, same order: id, scores, verdicts, evidence, "
                                   "model_version, and with a channel the channel rules' verdicts (rules); a bad "
                                   "line gives {\"line\", \"error\"} there (and on stderr) and the rest go on. "
                                   "Exit 1 if any line failed.")
    p.add_argument("input", type=Path, metavar="INPUT.jsonl", help="replies to score ('-' for stdin)")
    p.add_argument("-o", "--output", type=Path, metavar="OUTPUT.jsonl", help="write here instead of stdout")
    p.set_defaults(handler=_score)


SCORE_BATCH = 256
CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class ScoreItem:
    id: str
    text: str
    channel: str | None = None
    response_s: float | None = None


def parse_score_line(line: str) -> ScoreItem | str:
    """One input line as a ScoreItem, or what is wrong with it (one line)."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        return f"not valid JSON ({exc.msg})"
    if not isinstance(item, dict):
        return "expected an object with id and text"
    ident, text = item.get("id"), item.get("text")
    if not isinstance(ident, str) or not ident:
        return "id: needs a non-empty string"
    if not isinstance(text, str) or not text.strip():
        return f"text: needs a non-empty string (id {ident!r})"
    if len(text) > 20_000:
        return f"text: {len(text)} characters; the limit is 20000 (id {ident!r})"
    for key in ("context", "channel"):
        if key in item and not isinstance(item[key], str):
            return f"{key}: needs a string (id {ident!r})"
    if "channel" in item and item["channel"] not in CHANNELS:
        return f"channel: {item['channel']!r} is not one of {', '.join(CHANNELS)} (id {ident!r})"
    response = item.get("response_seconds")
    if response is not None:
        if isinstance(response, bool) or not isinstance(response, int | float) or not 0 <= response < 1e9:
            return f"response_seconds: {response!r} is not a number of seconds >= 0 (id {ident!r})"
        if "channel" not in item:
            return f"response_seconds: needs a channel to judge it against (id {ident!r})"
    return ScoreItem(ident, text, item.get("channel"), None if response is None else float(response))


def _score(args, settings: Settings) -> int:
    from dojo.services import Services
    from scoring.channel_rules import check_reply

    try:
        raw = sys.stdin.read() if str(args.input) == "-" else args.input.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"dojo: {args.input}: cannot read ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError:
        print(f"dojo: {args.input}: not UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    scorer = services.scorer
    parsed = [(n, parse_score_line(line)) for n, line in enumerate(inputs.lines(raw), 1) if line.strip()]
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        print(f"dojo: {args.output}: cannot write ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    try:
        for start in range(0, len(parsed), SCORE_BATCH):
            chunk = parsed[start:start + SCORE_BATCH]
            good = [p for _, p in chunk if isinstance(p, ScoreItem)]
            scores = iter(scorer.score_many([p.text for p in good]))
            for number, item in chunk:
                if isinstance(item, str):
                    failed += 1
                    print(f"{args.input}:{number}: {item}", file=sys.stderr)
                    out.write(json.dumps({"line": number, "error": item}) + "\n")
                    continue
                score = next(scores)
                doc = {"id": item.id, "scores": {c: round(s.probability, 4) for c, s in score.criteria.items()},
                       "verdicts": score.verdicts, "evidence": {c: s.evidence for c, s in score.criteria.items()},
                       "model_version": score.model_version}
                if item.channel:
                    doc["rules"] = [r.as_dict() for r in check_reply(item.text, item.channel, item.response_s)]
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    return EXIT_INVALID if failed else 0
