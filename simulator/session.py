"""A practice session: the scenario, the transcript, the customer's state and the clock.

Time: every message carries `at`, seconds since the session started on the session's clock. A reply's
response time is the time the first message had already waited (`scenario.waited_s`, first reply only)
plus either the wall-clock time the trainee took or a declared delay (`delay_s`). Live chat and bot
hand-offs are practised on the wall clock; on email and social the app lets the trainee declare "sent
20 hours later", so slow answers can be practised in a minute. Scripted runs (`dojo play`, benchmarks)
declare delays on any channel.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from simulator.customer import CustomerState, CustomerTurn
from simulator.scenario import Scenario

OUTCOME_WORDS = {
    "resolved": "resolved",
    "escalated": "escalated: the customer asked for a manager, not resolved",
    "abandoned": "abandoned: the customer gave up, not resolved",
    "max_turns": "ran out of turns, not resolved",
}


def outcome_words(outcome: str | None) -> str:
    """How a conversation ended, in words for the trainee ("ran out of turns, not resolved")."""
    return "in progress" if outcome is None else OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


@dataclass(frozen=True)
class Message:
    role: str  # "customer" | "agent"
    text: str
    at: float
    beat: str | None = None
    guard: str | None = None
    latency_ms: float | None = None
    response_s: float | None = None
    mood: str | None = None  # the customer's mood after this message
    scoring_ms: float | None = None  # an agent message: how long scoring it took
    behaviours: tuple[str, ...] = ()  # a customer message: the uncooperative behaviours it shows
    state: CustomerState | None = None  # a customer message: the customer's state after it (what resuming needs)


@dataclass
class Session:
    scenario: Scenario
    state: CustomerState
    seed: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[Message] = field(default_factory=list)
    started_wall: float = field(default_factory=time.monotonic)
    _last_customer_wall: float = field(default_factory=time.monotonic)
    clock: float = 0.0
    # When the trainee opened the session, on the real calendar: the customer's first message was sent
    # `scenario.waited_s` before it. Views date every message from here.
    opened_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def outcome(self) -> str | None:
        return self.state.outcome

    @property
    def ended(self) -> bool:
        return self.state.outcome is not None

    @property
    def agent_turns(self) -> int:
        return sum(1 for m in self.messages if m.role == "agent")

    def sent_at(self, message: Message) -> datetime:
        """The calendar time a message was sent, on this session's clock."""
        return self.opened_at + timedelta(seconds=message.at - self.scenario.waited_s)

    def add_customer(self, turn: CustomerTurn, state: CustomerState) -> None:
        self.state = state
        self.messages.append(Message("customer", turn.text, self.clock, turn.beat, turn.guard, turn.latency_ms,
                                     mood=state.mood, behaviours=turn.behaviours, state=state))
        self._last_customer_wall = time.monotonic()

    def response_seconds(self, delay_s: float | None = None) -> float:
        """How long the reply being sent took, on this session's clock."""
        wall = time.monotonic() - self._last_customer_wall
        waited = self.scenario.waited_s if self.agent_turns == 0 else 0
        if delay_s is not None:  # a declared delay (a scripted run, `dojo play`) counts on every channel
            return waited + max(0.0, float(delay_s))
        return waited + wall

    def add_agent(self, text: str, response_s: float, scoring_ms: float | None = None) -> Message:
        self.clock += response_s
        message = Message("agent", text, self.clock, response_s=response_s, scoring_ms=scoring_ms)
        self.messages.append(message)
        return message
