"""Scenarios: the trainer-authored script of one practice conversation, as frozen values.

`load_scenario(path)` reads one YAML file: size limit -> UTF-8 -> `yaml.safe_load` (with a node
budget against alias bombs) -> JSON Schema (every error collected) -> cross-checks (references
exist, beats reachable, an ending reachable) -> `Scenario`. Every problem is a `Problem` that prints
as `file:line: field.path: message`; nothing a trainer writes produces a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from simulator.channels import Channel, ChannelSpec, spec

MAX_FILE_BYTES = 256 * 1024
MAX_YAML_NODES = 20_000
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster to parse
CRITERIA = ("empathy", "ownership", "solution", "follow_up")
OUTCOMES = ("resolved", "escalated", "abandoned")
DEFAULT_ENDINGS = {
    "escalated": "This is going nowhere. I want to speak to a manager, and I'll be making a formal complaint.",
    "abandoned": "Forget it. I'll sort it out myself, or take my business elsewhere.",
}


# --- values ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Persona:
    name: str
    voice: str
    mood: str = "annoyed"
    patience: int = 3
    style: tuple[str, ...] | None = None  # writing traits (simulator/style.py); None: drawn from channel/difficulty
    behaviours: tuple[str, ...] | None = None  # simulator/behaviour.py; None: drawn from the difficulty


@dataclass(frozen=True)
class Fact:
    id: str
    says: str
    asked_by: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    """Something the customer knows about themselves and answers when asked (not a hidden fact)."""

    about: str
    says: str
    asked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fix:
    """A resolution that resolves the case, or a common wrong answer."""

    id: str
    description: str
    examples: tuple[str, ...]
    needs_facts: tuple[str, ...] = ()
    needs_cited: str | None = None
    customer_says: str | None = None  # wrong answers: the customer's reaction
    must_say: tuple[str, ...] = ()  # resolutions: at least one of these in the offer
    amount: float | None = None  # resolutions: the amount it gives


@dataclass(frozen=True)
class Policy:
    """What may be offered: amounts in the scenario's currency, dates as ISO strings."""

    today: str | None = None
    currency: str = "£"
    refund_up_to: float | None = None
    credit_up_to: float | None = None
    deliver_from: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class Condition:
    asked_for: str | None = None
    cited: str | None = None
    after: str | None = None
    below: Mapping[str, float] = field(default_factory=dict)
    above: Mapping[str, float] = field(default_factory=dict)
    min_turn: int | None = None
    personal_data_in_public: bool | None = None
    reasked_bot_data: bool | None = None
    offered: str | None = None  # a resolution id, or "any"
    wrong_fix: bool | None = None


@dataclass(frozen=True)
class Beat:
    id: str
    says: str
    when: Condition = field(default_factory=Condition)
    reveals: tuple[str, ...] = ()
    ends: str | None = None
    also_says: tuple[str, ...] = ()  # other wordings of `says`; a session draws one by its seed


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    version: int
    channel: Channel
    difficulty: int
    persona: Persona
    opening: str
    beats: tuple[Beat, ...]
    endings: Mapping[str, str]
    summary: str = ""
    subject: str | None = None
    opening_also_says: tuple[str, ...] = ()  # other wordings of the opening
    facts: tuple[Fact, ...] = ()
    customer_record: Mapping[str, Any] = field(default_factory=dict)
    bot_transcript: tuple[Mapping[str, str], ...] = ()
    bot_collected: tuple[str, ...] = ()
    kb_articles: tuple[str, ...] = ()
    rubric_weights: Mapping[str, float] = field(default_factory=dict)
    response_time_standard_s: int | None = None
    waited_s: int = 0
    max_turns: int = 8
    customer_knows: tuple[Knowledge, ...] = ()
    policy: Policy = field(default_factory=Policy)
    resolutions: tuple[Fix, ...] = ()
    wrong_answers: tuple[Fix, ...] = ()
    source: Path | None = None

    @property
    def channel_spec(self) -> ChannelSpec:
        return spec(self.channel)

    @property
    def response_standard_s(self) -> int:
        return self.response_time_standard_s or self.channel_spec.response_standard_s

    def fact(self, fact_id: str) -> Fact:
        return next(f for f in self.facts if f.id == fact_id)

    def weight(self, criterion: str, default: float = 1.0) -> float:
        """The scenario's weight for a criterion, else `default` (the rubric's)."""
        return float(self.rubric_weights.get(criterion, default))


# --- problems -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.field or '(file)'}: {self.message}"
        # One line, whatever a key or value in the file holds (a key may contain a line break).
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ScenarioError(ValueError):
    """A scenario file is invalid. `problems` holds every problem found, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- loading --------------------------------------------------------------------------------------

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "scenarios" / "schema.json"
_validator: Draft202012Validator | None = None


def schema_validator() -> Draft202012Validator:
    global _validator
    if _validator is None:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        _validator = Draft202012Validator(schema)
    return _validator


def load_scenario(path: Path | str, kb_ids: Iterable[str] | None = None) -> Scenario:
    """Load and check one scenario file. `kb_ids`: known article ids (default: the files in ../kb/)."""
    path = Path(path)
    text = _read_text(path)
    return parse_scenario(text, str(path), kb_ids=_kb_ids(path) if kb_ids is None else kb_ids, source=path)


def parse_scenario(text: str, filename: str = "<scenario>", kb_ids: Iterable[str] = (),
                   source: Path | None = None) -> Scenario:
    data, lines = _parse_yaml(text, filename)
    problems = sorted((_schema_problem(err, filename, lines) for err in schema_validator().iter_errors(data)),
                      key=lambda p: (p.line or 0, p.field))
    if problems:
        raise ScenarioError(problems)
    problems = _cross_check(data, filename, lines, set(kb_ids))
    if problems:
        raise ScenarioError(problems)
    return _build(data, source)


def _read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise ScenarioError([Problem(name, None, "", f"file is {size} bytes; the limit is {limit}")])
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot read the file ({exc.strerror})")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                                                     f"offset {exc.start}); save the file as UTF-8")]) from None


def parse_mapping(text: str, filename: str, validator: Draft202012Validator,
                  what: str) -> tuple[dict, dict[tuple, int]]:
    """Parse a YAML mapping and check it against a JSON Schema, with the scenario files' error wording.

    For other YAML documents of the product (the rubric). `what` completes "the top level is a list;
    ..." (e.g. "a rubric is a mapping of id, version, criteria"). Raises ScenarioError with every problem.
    """
    data, lines = _parse_yaml(text, filename, what)
    problems = sorted((_schema_problem(err, filename, lines) for err in validator.iter_errors(data)),
                      key=lambda p: (p.line or 0, p.field))
    if problems:
        raise ScenarioError(problems)
    return data, lines


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """A file's UTF-8 text, or ScenarioError with one problem (unreadable, over `limit` bytes, not UTF-8)."""
    return _read_text(path, limit)


_SCENARIO_WHAT = "a scenario is a mapping of id, title, version, channel, ..."


def _parse_yaml(text: str, filename: str, what: str = _SCENARIO_WHAT) -> tuple[Any, dict[tuple, int]]:
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(filename, None, "", f"text is over the {MAX_FILE_BYTES}-byte limit")])
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        try:  # libyaml found a problem: the pure-Python parser words it more helpfully
            yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise ScenarioError([_syntax_problem(exc, filename)]) from None
        raise ScenarioError([Problem(filename, None, "", "YAML syntax error")]) from None
    if root is None:
        raise ScenarioError([Problem(filename, 1, "", f"the file is empty; {what}")])
    lines: dict[tuple, int] = {}
    _index_lines(root, (), lines, [0], filename)
    try:  # from the nodes already checked; aliases built once
        data = yaml.SafeLoader("").construct_document(root)
    except yaml.YAMLError as exc:  # e.g. a tag safe loading refuses (!!python/..., a bare "=" is !!value)
        raise ScenarioError([_syntax_problem(exc, filename)]) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ScenarioError([Problem(filename, 1, "", f"the top level is a {kind}; {what}")])
    return data, lines


def _syntax_problem(exc: yaml.YAMLError, filename: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        what += f" (column {mark.column + 1})"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        what += f", {context} that starts on line {context_mark.line + 1}"
    if "\\t" in what:
        what += "; indent with spaces, not tabs"
    elif "found '<scalar>'" in what or "mapping values are not allowed" in what:
        what += "; check the quotes and indentation on this line and the lines above"
    return Problem(filename, mark.line + 1 if mark else None, "", f"YAML syntax error: {what}")


MAX_YAML_DEPTH = 64


def _index_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int], budget: list[int],
                 filename: str, ancestors: tuple[int, ...] = ()) -> None:
    budget[0] += 1
    if budget[0] > MAX_YAML_NODES:
        raise ScenarioError([Problem(filename, node.start_mark.line + 1, "",
                                     f"more than {MAX_YAML_NODES} YAML nodes (an alias bomb?)")])
    if id(node) in ancestors:
        raise ScenarioError([Problem(filename, node.start_mark.line + 1, _dotted(path),
                                     "an alias refers to a node that contains it (a loop)")])
    if len(ancestors) > MAX_YAML_DEPTH:
        raise ScenarioError([Problem(filename, node.start_mark.line + 1, _dotted(path),
                                     f"nested more than {MAX_YAML_DEPTH} levels deep")])
    ancestors = (*ancestors, id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_line: dict[object, int] = {}
        for key, value in node.value:
            if key.value in first_line:  # PyYAML would silently keep the last one: a trainer's text lost
                raise ScenarioError([Problem(filename, key.start_mark.line + 1, _dotted((*path, key.value)),
                                             f"duplicate key {key.value!r} (first on line "
                                             f"{first_line[key.value]}); each key may appear once")])
            first_line[key.value] = key.start_mark.line + 1
            child = (*path, key.value)
            lines.setdefault(child, key.start_mark.line + 1)
            _index_lines(value, child, lines, budget, filename, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, budget, filename, ancestors)


def _line_for(lines: dict[tuple, int], path: Iterable[Any]) -> int | None:
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_YAML_TYPES = {"object": "a mapping (key: value lines)", "array": "a list (- item lines or [a, b])",
               "string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "nothing"}


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    kinds = {dict: "a mapping", list: "a list", str: "text", int: "a whole number", float: "a decimal number"}
    return kinds.get(type(value), "empty" if value is None else type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_problem(err, filename: str, lines: dict[tuple, int]) -> Problem:
    path = list(err.absolute_path)
    message = err.message
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
        path = [*path, extra[0]] if len(extra) == 1 else path
        message = (f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; "
                   f"valid keys: {', '.join(allowed)}")
    elif err.validator == "enum":
        message = f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    elif err.validator == "type":
        message = f"{_short(err.instance)} is {_yaml_kind(err.instance)}; expected {_YAML_TYPES[err.validator_value]}"
    elif err.validator == "required":
        message = message.replace("is a required property", "is missing (required)")
    elif err.validator == "pattern":
        message = f"{err.instance!r} does not match {err.validator_value}"
    return Problem(filename, _line_for(lines, path), _dotted(path), message)


def _cross_check(data: dict, filename: str, lines: dict[tuple, int], kb_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: list, message: str) -> None:
        problems.append(Problem(filename, _line_for(lines, path), _dotted(path), message))

    facts = [f["id"] for f in data.get("facts", [])]
    beats = [b["id"] for b in data["beats"]]
    for kind, ids in (("facts", facts), ("beats", beats)):
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                problem([kind, i, "id"], f"duplicate id {ident!r}")
            seen.add(ident)
    for i, ident in enumerate(data.get("bot_collected", [])):
        if ident not in facts:
            problem(["bot_collected", i], f"unknown fact {ident!r}; facts: {', '.join(facts) or '(none)'}")
    for i, art in enumerate(data.get("kb_articles", [])):
        if kb_ids and art not in kb_ids:
            problem(["kb_articles", i], f"no article {art!r} in the knowledge base (scenarios/kb/{art}.md)")
    for i, beat in enumerate(data["beats"]):
        when = beat.get("when", {})
        if "asked_for" in when and when["asked_for"] not in facts:
            problem(["beats", i, "when", "asked_for"],
                    f"unknown fact {when['asked_for']!r}; facts: {', '.join(facts) or '(none)'}")
        if "after" in when and when["after"] not in beats:
            problem(["beats", i, "when", "after"], f"unknown beat {when['after']!r}; beats: {', '.join(beats)}")
        if "after" in when and when["after"] == beat["id"]:
            problem(["beats", i, "when", "after"], "a beat cannot come after itself")
        if "cited" in when and when["cited"] not in data.get("kb_articles", []):
            problem(["beats", i, "when", "cited"], f"article {when['cited']!r} is not in kb_articles")
        for j, fact in enumerate(beat.get("reveals", [])):
            if fact not in facts:
                problem(["beats", i, "reveals", j], f"unknown fact {fact!r}; facts: {', '.join(facts) or '(none)'}")
    _check_fixes(data, facts, problem)
    if not problems:
        _reachability(data, problem)
    if not any(b.get("ends") == "resolved" for b in data["beats"]):
        problem(["beats"], "no beat ends the session as resolved (add `ends: resolved` to one)")
    if data["channel"] == "bot_handoff" and not data.get("bot_transcript"):
        problem(["bot_transcript"], "a bot_handoff scenario needs the bot_transcript the trainee takes over")
    limit = spec(data["channel"]).max_chars
    messages = [(["opening", "says"], data["opening"]["says"])]
    messages += [(["beats", i, "says"], b["says"]) for i, b in enumerate(data["beats"])]
    for path, item in [(["opening"], data["opening"]), *((["beats", i], b) for i, b in enumerate(data["beats"]))]:
        for j, wording in enumerate(item.get("also_says", ())):
            messages.append(([*path, "also_says", j], wording))
            if missing := missing_details(item["says"], wording):
                problem([*path, "also_says", j], f"leaves out {', '.join(repr(m) for m in sorted(missing))} of "
                                                 "`says`; every wording keeps its numbers, references, amounts, "
                                                 "names, days and times")
    messages += [(["endings", k], v) for k, v in data.get("endings", {}).items()]
    for path, text in messages:
        if len(text) > limit:
            problem(path, f"{len(text)} characters; a {spec(data['channel']).label.lower()} message is at most {limit}")
    if data["channel"] == "email" and not data["opening"].get("subject"):
        problem(["opening", "subject"], "an email scenario needs a subject on its opening message")
    return problems


_TOKEN = re.compile(r"[£$€]?\w[\w.-]*")
_DAYS = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|yesterday|"
                   r"morning|afternoon|evening)\b", re.I)


def _details(text: str) -> set[str]:
    return {t.rstrip(".-") for t in _TOKEN.findall(text) if any(c.isdigit() for c in t)}


def missing_details(says: str, wording: str) -> set[str]:
    """What another wording of a line leaves out of it: numbers, references and amounts (as written), names
    (capitalised words inside a sentence) and days and times (in any case)."""
    out = _details(says) - _details(wording)
    names = {d.lower() for d in _DAYS.findall(says)}
    for sentence in re.split(r"(?<=[.!?])\s+", says):
        names |= {w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", sentence)[1:]
                  if w[0].isupper() and not w.isupper() and w.split("'")[0] != "I"}
    said = {w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", wording)}
    return out | (names - said - {w.split("'")[0] for w in said})


def _check_fixes(data: dict, facts: list[str], problem: Callable[[list, str], None]) -> None:
    """Resolutions, wrong answers and the policy: ids unique, references exist, dates real dates."""
    fixes = [r["id"] for r in data.get("resolutions", [])]
    for kind in ("resolutions", "wrong_answers", "customer_knows"):
        seen: set[str] = set()
        key = "about" if kind == "customer_knows" else "id"
        for i, item in enumerate(data.get(kind, [])):
            if item[key] in seen:
                problem([kind, i, key], f"duplicate {key} {item[key]!r}")
            seen.add(item[key])
    wrong = {w["id"] for w in data.get("wrong_answers", [])}
    for i, ident in enumerate(fixes):
        if ident in wrong:
            problem(["resolutions", i, "id"], f"{ident!r} is both a resolution and a wrong answer")
    for i, fix in enumerate(data.get("resolutions", [])):
        needs = fix.get("needs", {})
        for j, fact in enumerate(needs.get("facts", [])):
            if fact not in facts:
                problem(["resolutions", i, "needs", "facts", j],
                        f"unknown fact {fact!r}; facts: {', '.join(facts) or '(none)'}")
        if "cited" in needs and needs["cited"] not in data.get("kb_articles", []):
            problem(["resolutions", i, "needs", "cited"], f"article {needs['cited']!r} is not in kb_articles")
    for i, beat in enumerate(data["beats"]):
        offered = beat.get("when", {}).get("offered")
        if offered is not None and offered != "any" and offered not in fixes:
            problem(["beats", i, "when", "offered"],
                    f"unknown resolution {offered!r}; resolutions: {', '.join(fixes) or '(none)'}, or any")
    policy = data.get("policy", {})
    for key in ("today", "deliver_from"):
        if key in policy:
            try:
                date.fromisoformat(policy[key])
            except ValueError:
                problem(["policy", key], f"{policy[key]!r} is not a real date; write YYYY-MM-DD")
    if "today" in policy and "deliver_from" in policy and policy["deliver_from"] < policy["today"]:
        problem(["policy", "deliver_from"], f"{policy['deliver_from']} is before today ({policy['today']})")


def _reachability(data: dict, problem: Callable[[list, str], None]) -> None:
    """Report beats no conversation can ever reach, and a scenario whose resolving beats are all such.

    A beat is unreachable when its conditions contradict each other or the scenario (a turn past
    max_turns, personal data in public on a private channel, re-asked bot data with no bot), when its
    `after` conditions form a cycle, or when it must come after a beat that ends the session or that is
    itself unreachable.
    """
    beats = {b["id"]: b for b in data["beats"]}
    after = {i: b.get("when", {}).get("after") for i, b in beats.items()}
    max_turns = data.get("max_turns", 8)
    reasons: dict[str, str] = {}
    for beat_id, beat in beats.items():
        when = beat.get("when", {})
        below, above = when.get("below", {}), when.get("above", {})
        if below and all(c in above and above[c] >= level for c, level in below.items()):
            reasons[beat_id] = "its `below` and `above` levels contradict each other"
        elif when.get("min_turn", 0) > max_turns:
            reasons[beat_id] = f"min_turn {when['min_turn']} is past max_turns {max_turns}"
        elif when.get("personal_data_in_public") and data["channel"] != "social_public":
            reasons[beat_id] = "personal data in public can only happen on the social_public channel"
        elif when.get("reasked_bot_data") and not data.get("bot_collected"):
            reasons[beat_id] = "reasked_bot_data needs bot_collected facts"
        elif when.get("offered") and not data.get("resolutions"):
            reasons[beat_id] = "`offered` needs resolutions"
        elif when.get("wrong_fix") and not data.get("wrong_answers"):
            reasons[beat_id] = "`wrong_fix` needs wrong_answers"
    for beat_id in beats:  # a cycle: following `after` comes back to where it started
        path, cur = [beat_id], after[beat_id]
        while cur is not None and cur not in path:
            path.append(cur)
            cur = after[cur]
        if cur == beat_id:
            reasons.setdefault(beat_id, "its `after` conditions form a cycle: " + " -> ".join([*path, beat_id]))
    changed = True
    while changed:  # then along `after` chains, until nothing changes
        changed = False
        for beat_id, prev in after.items():
            if beat_id in reasons or prev is None:
                continue
            if beats[prev].get("ends"):
                reasons[beat_id] = f"it comes after {prev!r}, which ends the session"
            elif prev in reasons:
                reasons[beat_id] = f"it comes after {prev!r}, which can never be reached"
            else:
                continue
            changed = True
    index = {b["id"]: i for i, b in enumerate(data["beats"])}
    for beat_id, reason in reasons.items():
        problem(["beats", index[beat_id], "id"], f"beat {beat_id!r} can never be reached: {reason}")
    resolving = [i for i, b in beats.items() if b.get("ends") == "resolved"]
    if resolving and all(i in reasons for i in resolving):
        problem(["beats"], "no reachable beat ends the session as resolved")


def _build(data: dict, source: Path | None) -> Scenario:
    def condition(raw: dict) -> Condition:
        return Condition(**{k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()})

    endings = {**DEFAULT_ENDINGS, **data["endings"]}
    return Scenario(
        id=data["id"], title=data["title"], version=data["version"], channel=Channel(data["channel"]),
        difficulty=data["difficulty"],
        persona=Persona(**{**data["persona"], **{k: tuple(data["persona"][k]) for k in ("style", "behaviours")
                                                  if k in data["persona"]}}),
        opening=data["opening"]["says"], subject=data["opening"].get("subject"),
        opening_also_says=tuple(data["opening"].get("also_says", ())),
        beats=tuple(Beat(id=b["id"], says=b["says"], when=condition(b.get("when", {})),
                         reveals=tuple(b.get("reveals", ())), ends=b.get("ends"),
                         also_says=tuple(b.get("also_says", ()))) for b in data["beats"]),
        endings=endings, summary=data.get("summary", ""),
        facts=tuple(Fact(f["id"], f["says"], tuple(f["asked_by"])) for f in data.get("facts", [])),
        customer_record=data.get("customer_record", {}),
        bot_transcript=tuple(data.get("bot_transcript", [])),
        bot_collected=tuple(data.get("bot_collected", [])), kb_articles=tuple(data.get("kb_articles", [])),
        rubric_weights=data.get("rubric_weights", {}),
        response_time_standard_s=data.get("response_time_standard_s"), waited_s=data.get("waited_s", 0),
        max_turns=data.get("max_turns", 8),
        customer_knows=tuple(Knowledge(k["about"], k["says"], tuple(k.get("asked_by", ())))
                             for k in data.get("customer_knows", [])),
        policy=Policy(**data.get("policy", {})),
        resolutions=tuple(_fix(r) for r in data.get("resolutions", [])),
        wrong_answers=tuple(_fix(w) for w in data.get("wrong_answers", [])), source=source)


def _fix(raw: dict) -> Fix:
    needs = raw.get("needs", {})
    return Fix(id=raw["id"], description=raw["description"], examples=tuple(raw["examples"]),
               needs_facts=tuple(needs.get("facts", ())), needs_cited=needs.get("cited"),
               customer_says=raw.get("customer_says"), must_say=tuple(raw.get("must_say", ())),
               amount=raw.get("amount"))


def article_ids(folder: Path) -> set[str]:
    """Ids of the knowledge-base articles in `folder/kb/` (empty if there is none)."""
    kb = Path(folder) / "kb"
    return {p.stem for p in kb.glob("*.md")} if kb.is_dir() else set()


def _kb_ids(path: Path) -> set[str]:
    """Article ids of the knowledge base next to a scenario file (its folder's or parent's `kb/`)."""
    for folder in (path.parent, path.parent.parent):
        if (folder / "kb").is_dir():
            return article_ids(folder)
    return set()


def scenario_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """The scenario files named by `paths` (files, or folders: their *.yaml and *.yml, not recursive)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), None, "", "no such file or folder"))
    return files, problems


def load_many(files: Iterable[Path]) -> tuple[dict[str, Scenario], list[Problem]]:
    """Load every file; invalid ones and duplicate ids become problems, never a silent drop."""
    scenarios: dict[str, Scenario] = {}
    problems: list[Problem] = []
    kb_by_folder: dict[Path, set[str]] = {}
    for path in files:
        kb = kb_by_folder.setdefault(path.parent, _kb_ids(path))  # once per folder, not per file
        try:
            scenario = load_scenario(path, kb_ids=kb)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if scenario.id in scenarios:
            first = scenarios[scenario.id].source
            problems.append(Problem(str(path), 1, "id", f"duplicate scenario id {scenario.id!r} (also in {first})"))
            continue
        scenarios[scenario.id] = scenario
    return scenarios, problems


# --- the library ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioLibrary:
    """All scenarios of a folder, by id. Invalid files are kept as problems, never silently dropped."""

    scenarios: Mapping[str, Scenario]
    problems: tuple[Problem, ...] = ()

    @classmethod
    def load(cls, folder: Path) -> ScenarioLibrary:
        files, problems = scenario_files([folder])
        scenarios, more = load_many(files)
        return cls(scenarios, tuple(problems + more))

    def get(self, scenario_id: str) -> Scenario:
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            raise KeyError(f"unknown scenario {scenario_id!r}; known: {', '.join(sorted(self.scenarios))}") from None

    def __iter__(self):
        return iter(self.scenarios.values())

    def __len__(self) -> int:
        return len(self.scenarios)
