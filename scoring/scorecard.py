"""The scorecard: how a session went, per criterion and as contact-centre KPIs.

KPIs (from the domain seed): first response time against the channel standard, resolution and turns
to resolve, simulated CSAT (1-5, from the customer's final mood and the outcome), first contact
resolution (resolved in this contact, without escalation).

CSAT and the final mood follow from how the conversation ended, not only from the customer's last mood: a
customer who gave up, asked for a manager or was left unresolved when the turns ran out is never 5/5 or
"calm", whatever the frustration score says (their closing line is "Forget it", not a thank-you).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from scoring.channel_rules import FIX_RULES, RuleVerdict
from scoring.scorer import ReplyScore
from simulator.channels import format_duration
from simulator.customer import mood_name
from simulator.scenario import CRITERIA
from simulator.session import Session, outcome_words


class ScoredReply(Protocol):
    """One trainee reply with its feedback (the application's `TurnResult` is one)."""

    score: ReplyScore
    rules: list[RuleVerdict]
    response_s: float


# Rule failures that keep a session from being a clean success, listed on the scorecard by kind.
FAULT_KINDS = {**{rule: kind for kind, (rule, _) in FIX_RULES.items()},
               "no_secrets_requested": "unsafe_request", "no_personal_data_in_public": "personal_data_in_public"}


@dataclass(frozen=True)
class Fault:
    reply: int  # 1-based: the trainee's reply it was found in
    kind: str
    message: str
    evidence: str


class ScoredSession(Protocol):
    """A session with the feedback on each reply (the application's practice `Run` is one)."""

    session: Session
    results: Sequence[ScoredReply]
    weights: Mapping[str, float]


@dataclass(frozen=True)
class CriterionSummary:
    criterion: str
    mean_probability: float
    met: int
    replies: int
    weight: float


@dataclass(frozen=True)
class Scorecard:
    scenario_id: str
    scenario_version: int
    outcome: str | None
    criteria: dict[str, CriterionSummary]
    overall: float
    first_response_s: float | None
    response_standard_s: int
    turns: int
    turns_to_resolve: int | None
    csat: int
    first_contact_resolution: bool
    rule_breaks: int
    final_mood: str
    faults: tuple[Fault, ...] = ()

    @property
    def clean(self) -> bool:
        """Resolved with no fault: no over-promise, wrong fact, wrong fix or unsafe request on the way."""
        return self.outcome == "resolved" and not self.faults

    @property
    def first_response_met(self) -> bool | None:
        return None if self.first_response_s is None else self.first_response_s <= self.response_standard_s

    def kpi_rows(self) -> list[tuple[str, str]]:
        frt = ("-" if self.first_response_s is None else
               f"{format_duration(self.first_response_s)} (standard {format_duration(self.response_standard_s)}: "
               f"{'met' if self.first_response_met else 'missed'})")
        return [
            ("Outcome", outcome_words(self.outcome)),
            ("First response time", frt),
            ("Resolution", "resolved" if self.outcome == "resolved" else "not resolved"),
            ("Turns to resolve", "-" if self.turns_to_resolve is None else str(self.turns_to_resolve)),
            ("Simulated CSAT", f"{self.csat} / 5"),
            ("First contact resolution", "yes" if self.first_contact_resolution else "no"),
            ("Channel-rule breaks", str(self.rule_breaks)),
            ("Faults", "none" if not self.faults else "; ".join(
                f"reply {f.reply}: {f.message}" for f in self.faults)),
            ("Customer's final mood", self.final_mood),
        ]


def build(run: ScoredSession) -> Scorecard:
    session, results = run.session, run.results
    scenario = session.scenario
    criteria = {}
    for c in CRITERIA:
        probs = [r.score.criteria[c].probability for r in results]
        met = sum(r.score.criteria[c].verdict for r in results)
        criteria[c] = CriterionSummary(c, sum(probs) / len(probs) if probs else 0.0, met, len(results),
                                       run.weights.get(c, scenario.weight(c)))
    total_w = sum(s.weight for s in criteria.values()) or 1.0
    overall = sum(s.mean_probability * s.weight for s in criteria.values()) / total_w
    outcome = session.outcome
    resolved = outcome == "resolved"
    csat, mood = satisfaction(session.state.frustration, outcome)
    return Scorecard(
        scenario_id=scenario.id, scenario_version=scenario.version, outcome=outcome, criteria=criteria,
        overall=overall, first_response_s=results[0].response_s if results else None,
        response_standard_s=scenario.response_standard_s, turns=len(results),
        turns_to_resolve=len(results) if resolved else None, csat=csat,
        first_contact_resolution=resolved, rule_breaks=sum(not v.passed for r in results for v in r.rules),
        final_mood=mood,
        faults=tuple(Fault(i, FAULT_KINDS[v.rule], v.message, v.evidence) for i, r in enumerate(results, 1)
                     for v in r.rules if not v.passed and v.rule in FAULT_KINDS))


# The least frustration an ending implies, and the best CSAT it allows.
ENDING_FLOOR = {"escalated": 0.8, "abandoned": 0.5, "max_turns": 0.2}
ENDING_CSAT_CAP = {"escalated": 1, "abandoned": 1, "max_turns": 2, None: 4}


def satisfaction(frustration: float, outcome: str | None) -> tuple[int, str]:
    """Simulated CSAT (1-5) and the final mood, from the frustration and how the conversation ended.

    Resolved: 1 + 4 x (1 - frustration), one point up for the resolution. Otherwise the ending sets a
    floor on frustration (gave up: at least frustrated; asked for a manager: angry; ran out of turns: at
    least annoyed) and a cap on CSAT (1, 1 and 2; in progress 4)."""
    if outcome != "resolved":
        frustration = max(frustration, ENDING_FLOOR.get(outcome or "", 0.0))
    csat = round(1 + 4 * (1 - frustration))
    if outcome == "resolved":
        return min(5, csat + 1), mood_name(frustration)
    return max(1, min(csat, ENDING_CSAT_CAP.get(outcome, 2))), mood_name(frustration)
