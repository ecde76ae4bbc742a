"""The rubric: the four criteria, their definitions and tips, and the labeled replies they are trained on.

Both are checked on load, with the scenario files' error wording: one line per problem, `file:line:
field: message`, every problem at once, never a traceback and never a silently skipped reply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator

from scoring.inputs import lines
from simulator.channels import Channel
from simulator.scenario import CRITERIA, Problem, ScenarioError, parse_mapping, read_text

RUBRIC_FILE = "rubric.yaml"
SCHEMA_FILE = "rubric.schema.json"
LABEL_FIELDS = {"id", "text", *CRITERIA, "source", "channel", "industry", "note", "votes", "context", "origin"}
MAX_TEXT = 5000
MAX_PROBLEMS = 50
MAX_LABELED_FILE_BYTES = 64 * 1024 * 1024


class RubricError(ValueError):
    """The rubric or its labeled replies are invalid. `problems` holds every problem, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    definition: str
    tip: str
    weight: float = 1.0
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    does_not_count: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    criteria: dict[str, Criterion]

    @classmethod
    def load(cls, folder: Path) -> Rubric:
        path = folder / RUBRIC_FILE
        return cls.parse(_read(path), str(path))

    @classmethod
    def parse(cls, text: str, filename: str = RUBRIC_FILE) -> Rubric:
        try:
            data, _ = parse_mapping(text, filename, _validator(), "a rubric is a mapping of id, version, criteria")
        except ScenarioError as exc:
            raise RubricError(exc.problems) from None
        criteria = {}
        for cid in CRITERIA:
            raw = data["criteria"][cid]
            criteria[cid] = Criterion(cid, raw["title"], raw["definition"], raw["tip"], float(raw["weight"]),
                                      tuple(raw["positive"]), tuple(raw["negative"]),
                                      tuple(raw.get("counts", ())), tuple(raw.get("does_not_count", ())),
                                      tuple(raw.get("notes", ())))
        return cls(data["id"], int(data["version"]), criteria)


_schema_validator: Draft202012Validator | None = None


def _validator() -> Draft202012Validator:
    global _schema_validator
    if _schema_validator is None:
        schema = json.loads((Path(__file__).resolve().parent.parent / "rubrics" / SCHEMA_FILE).read_text())
        Draft202012Validator.check_schema(schema)
        _schema_validator = Draft202012Validator(schema)
    return _schema_validator


def _read(path: Path) -> str:
    try:
        return read_text(path)
    except ScenarioError as exc:
        raise RubricError(exc.problems) from None


@dataclass(frozen=True)
class LabeledReply:
    id: str
    text: str
    labels: dict[str, int]
    source: str
    channel: str | None = None
    # Share of the blind labeling passes that said "met", per criterion (the label is their majority); None
    # for replies labeled once. Kept so a split decision stays visible instead of being dropped.
    votes: dict[str, float] | None = None
    context: str = ""  # the customer message the reply answers, where known

    @property
    def split(self) -> str:
        """Fixed split by a hash of the id: 15% test (never tuned on), 15% validation, 70% train."""
        bucket = int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 100
        return "test" if bucket < 15 else "validation" if bucket < 30 else "train"


def labeled_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def load_labeled(folder: Path) -> list[LabeledReply]:
    """Every labeled reply of the folder's *.jsonl files; RubricError lists every bad line."""
    rows, problems = check_labeled(labeled_files(folder))
    if problems:
        raise RubricError(problems)
    return rows


def check_labeled(files: list[Path]) -> tuple[list[LabeledReply], list[Problem]]:
    rows: list[LabeledReply] = []
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    first_text: dict[str, str] = {}
    for path in files:
        try:
            text = read_text(path, MAX_LABELED_FILE_BYTES)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        for number, line in enumerate(lines(text), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            row, problem = _parse_label_line(line, str(path), number)
            if problem:
                problems.append(problem)
            elif row.id in first_seen:
                problems.append(Problem(str(path), number, "id", f"duplicate id {row.id!r} (first at "
                                                                 f"{first_seen[row.id]})"))
            elif row.text in first_text:  # it could land in train and test at once
                problems.append(Problem(str(path), number, "text", f"the same text as {first_text[row.text]}; "
                                                                   "each reply once"))
            else:
                first_seen[row.id] = where
                first_text[row.text] = f"{row.id} ({where})"
                rows.append(row)
            if len(problems) >= MAX_PROBLEMS:
                problems.append(Problem(str(path), number, "", f"stopped after {MAX_PROBLEMS} problems"))
                return rows, problems
    return rows, problems


_CHANNELS = tuple(c.value for c in Channel)


def _parse_label_line(line: str, filename: str, number: int) -> tuple[LabeledReply | None, Problem | None]:
    def bad(field: str, message: str) -> tuple[None, Problem]:
        return None, Problem(filename, number, field, message)

    try:
        item = json.loads(line)
    except ValueError as exc:
        return bad("", f"not valid JSON ({exc.msg}, column {exc.colno})")
    if not isinstance(item, dict):
        return bad("", "expected an object with id, text, empathy, ownership, solution, follow_up, source")
    unknown = sorted(set(item) - LABEL_FIELDS)
    if unknown:
        return bad(unknown[0], f"unknown key; valid keys: {', '.join(sorted(LABEL_FIELDS))}")
    for key in ("id", "text", "source"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            return bad(key, f"{value!r} is not allowed: needs non-empty text" if key in item
                       else "is missing (required)")
    if len(item["text"]) > MAX_TEXT:
        return bad("text", f"{len(item['text'])} characters; the limit is {MAX_TEXT}")
    for c in CRITERIA:
        if c not in item:
            return bad(c, "is missing (required): every reply carries all four labels, 0 or 1")
        if type(item[c]) is not int or item[c] not in (0, 1):
            return bad(c, f"{item[c]!r} is not a label; use 0 (not met) or 1 (met)")
    channel = item.get("channel")
    if channel is not None and channel not in _CHANNELS:
        return bad("channel", f"{channel!r} is not one of {', '.join(_CHANNELS)}")
    for key in ("context", "origin", "industry", "note"):
        if key in item and not isinstance(item[key], str):
            return bad(key, f"{item[key]!r} is not text")
    votes = item.get("votes")
    if votes is not None:
        if not isinstance(votes, dict) or set(votes) != set(CRITERIA):
            return bad("votes", f"needs the share of passes that said met for each of {', '.join(CRITERIA)}")
        for c, v in votes.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                return bad(f"votes.{c}", f"{v!r} is not a share between 0 and 1")
            if (v > 0.5) != bool(item[c]):
                return bad(f"votes.{c}", f"{v} of the passes said met, but the label is {item[c]}: the label is "
                                         "the passes' majority")
        votes = {c: float(votes[c]) for c in CRITERIA}
    return LabeledReply(item["id"], item["text"], {c: item[c] for c in CRITERIA}, item["source"], channel,
                        votes, item.get("context", "")), None


def data_hash(rows: list[LabeledReply]) -> str:
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r.id, r.text, r.labels], sort_keys=True).encode())
    return digest.hexdigest()
