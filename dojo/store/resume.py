"""A stored practice session as data: what is written with each turn, and how a session is rebuilt from it.

Every turn row carries `detail`, the JSON of the message as the session saw it (session clock, beat, guard, the
customer's state after a customer message) and, for a reply, its feedback (scores with reasons, rule checks,
the customer's turn with the fix verdict); the session row carries the scenario as it was when the session
started. So any process can continue any session: nothing a second server, a restart or a reload needs is
kept in one process's memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from dojo.practice import TurnResult
from simulator.scenario import Scenario
from simulator.serial import SerialError, dump, load
from simulator.session import Message, Session


class NotResumable(ValueError):
    """A stored session that cannot be continued (stored before sessions were resumable, or imported). One line;
    `owner` is whose it is (only they may be told why)."""

    def __init__(self, message: str, owner: str = ""):
        super().__init__(message)
        self.owner = owner


@dataclass(frozen=True)
class StoredRun:
    owner: str
    session: Session
    results: list[TurnResult]


def scenario_json(scenario: Scenario) -> str:
    return json.dumps(dump(scenario), ensure_ascii=False)


def stored_scenario(text: str | None) -> Scenario | None:
    """The scenario a session was stored with, or None (stored before sessions kept it, or imported)."""
    if not text:
        return None
    try:
        return load(Scenario, json.loads(text))
    except (ValueError, KeyError, TypeError, SerialError):
        return None


def turn_detail(message: Message, result: TurnResult | None = None) -> str:
    data = {"message": dump(message)}
    if result is not None:
        data["result"] = dump(result)
    return json.dumps(data, ensure_ascii=False)


def rebuild(session_id: str, owner: str, seed: int, started_at, scenario_text: str | None,
            details: list[str | None]) -> StoredRun:
    """The session and its feedback from the stored rows; NotResumable if they do not hold what it needs."""
    if not scenario_text or not details or any(d is None for d in details):
        raise NotResumable(f"session {session_id} was stored without what continuing it needs "
                           "(before this version, or imported); it can be read, not continued", owner)
    try:
        scenario = load(Scenario, json.loads(scenario_text))
        parsed = [json.loads(d) for d in details]
        messages = [load(Message, d["message"]) for d in parsed]
        results = [load(TurnResult, d["result"]) for d in parsed if "result" in d]
    except (ValueError, KeyError, TypeError, SerialError) as exc:
        raise NotResumable(f"session {session_id}: its stored state cannot be read ({exc})", owner) from None
    last = next((m for m in reversed(messages) if m.role == "customer" and m.state is not None), None)
    if last is None or messages[-1].role != "customer":
        raise NotResumable(f"session {session_id}: its last stored turn is not the customer's", owner)
    opened = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    session = Session(scenario=scenario, state=last.state, seed=seed, id=session_id, messages=messages,
                      clock=messages[-1].at, opened_at=opened)
    return StoredRun(owner, session, results)
