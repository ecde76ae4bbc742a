"""One practice turn end to end: score the trainee's reply, check the channel rules, let the customer react."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scoring.channel_rules import RuleVerdict, check, fix_rules
from scoring.scorer import ReplyScore, Scorer, overrule
from simulator.customer import Customer, CustomerTurn
from simulator.scenario import Scenario
from simulator.session import Session, outcome_words

# Control characters (terminal escapes, NUL, ...) have no place in a reply and could reach a terminal through
# `dojo progress` or a CSV export: dropped. Tabs and line breaks stay.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class ReplyError(ValueError):
    """The trainee's reply cannot be taken (empty, too long, session over). One line."""


@dataclass(frozen=True)
class TurnResult:
    score: ReplyScore
    rules: list[RuleVerdict]
    response_s: float
    customer: CustomerTurn


@dataclass
class Run:
    """A session with the feedback on each of the trainee's replies."""

    session: Session
    results: list[TurnResult] = field(default_factory=list)
    # Each criterion's weight in the scorecard: the scenario's rubric_weights, else the rubric's.
    weights: dict[str, float] = field(default_factory=dict)

    def checkpoint(self) -> Callable[[], None]:
        """A function that puts this run back as it is now (a reply that could not be stored is undone)."""
        session = self.session
        messages, results = len(session.messages), len(self.results)
        state, clock, last = session.state, session.clock, session._last_customer_wall

        def restore() -> None:
            del session.messages[messages:]
            del self.results[results:]
            session.state, session.clock, session._last_customer_wall = state, clock, last
        return restore


class Practice:
    def __init__(self, customer: Customer, scorer: Scorer):
        self.customer = customer
        self.scorer = scorer

    def start(self, scenario: Scenario, seed: int | None = None) -> Run:
        seed = random.randrange(2**31) if seed is None else seed
        turn, state = self.customer.opening(scenario, seed=seed)
        session = Session(scenario=scenario, state=state, seed=seed)
        session.add_customer(turn, state)
        rubric = self.scorer.rubric.criteria
        return Run(session, weights={c: scenario.weight(c, rubric[c].weight) for c in rubric})

    def resume(self, session: Session, results: list[TurnResult]) -> Run:
        """A stored session, continued: the same scenario, state, clock and feedback as when it stopped."""
        rubric = self.scorer.rubric.criteria
        return Run(session, list(results), weights={c: session.scenario.weight(c, rubric[c].weight) for c in rubric})

    @staticmethod
    def accept(session: Session, text: str) -> str:
        """The reply as it will be sent (control characters dropped, trimmed), or why it cannot be: the
        session is over, the reply is empty, or it is longer than its channel allows."""
        text = CONTROL.sub("", text or "").strip()
        if session.ended:
            raise ReplyError(f"this conversation has ended ({outcome_words(session.outcome)}); start a new one")
        if not text:
            raise ReplyError("the reply is empty; write something to the customer")
        spec = session.scenario.channel_spec
        if len(text) > spec.max_chars:
            raise ReplyError(f"the reply is {len(text):,} characters; a {spec.label.lower()} reply is at most "
                             f"{spec.max_chars:,}. Shorten it and send again")
        return text

    def reply(self, run: Run, text: str, delay_s: float | None = None) -> TurnResult:
        session = run.session
        text = self.accept(session, text)
        response_s = session.response_seconds(delay_s)
        started = time.perf_counter()
        score = self.scorer(text)
        session.add_agent(text, response_s, scoring_ms=(time.perf_counter() - started) * 1000)
        rules = check(text, session.scenario, response_s)
        seed = session.seed + 7919 * session.agent_turns
        turn, state = self.customer.next_turn(session.scenario, session.state, text, score.probabilities, seed=seed,
                                             waited_s=response_s)
        session.add_customer(turn, state)
        rules += fix_rules(turn.fix, session.scenario)
        faults = [f for f in turn.fix.flags if f.kind in ("wrong_fix", "over_promise")]
        if faults:  # a wrong fix or an offer beyond policy is not a solution, however it reads
            score = overrule(score, "solution", faults[0].message,
                             "Offer what the policy allows: check the knowledge base and the customer record first.")
        result = TurnResult(score, rules, response_s, turn)
        run.results.append(result)
        return result
