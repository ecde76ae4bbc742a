"""Skill progress: per agent, per criterion and per channel, an estimate with uncertainty.

Each scored reply is evidence about a skill: a met verdict for the criterion, or a missed one. The
estimate is a Beta posterior (prior Beta(1, 1)) over "meets the criterion", updated reply by reply,
with the scenario's difficulty weighing the evidence: a met verdict in a level-3 scenario counts 1.25,
in a level-1 scenario 0.75; a miss counts the other way round (0.75 at level 3, 1.25 at level 1). The
interval is the central 90 % of the posterior. The next scenario targets the weakest criterion on the
channel where it is weakest, at a difficulty that suits the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scipy.stats import beta as beta_dist

from simulator.scenario import CRITERIA, ScenarioLibrary

# difficulty -> (weight of a met verdict, weight of a missed one)
EVIDENCE_WEIGHT = {1: (0.75, 1.25), 2: (1.0, 1.0), 3: (1.25, 0.75)}
INTERVAL = 0.90


@dataclass(frozen=True)
class Estimate:
    alpha: float = 1.0
    beta: float = 1.0
    replies: int = 0

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def interval(self) -> tuple[float, float]:
        tail = (1 - INTERVAL) / 2
        return float(beta_dist.ppf(tail, self.alpha, self.beta)), float(beta_dist.ppf(1 - tail, self.alpha, self.beta))

    def update(self, met: bool, difficulty: int) -> Estimate:
        hit, miss = EVIDENCE_WEIGHT.get(difficulty, (1.0, 1.0))
        return Estimate(self.alpha + (hit if met else 0.0), self.beta + (0.0 if met else miss), self.replies + 1)

    def as_dict(self) -> dict:
        low, high = self.interval
        return {"estimate": round(self.mean, 4), "low": round(low, 4), "high": round(high, 4),
                "replies": self.replies}


@dataclass(frozen=True)
class Point:
    """The per-criterion estimates after one session: a point on the progress plot."""

    session_id: str
    scenario_id: str
    channel: str
    started_at: datetime
    estimates: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # the 90% interval per criterion


@dataclass(frozen=True)
class Recommendation:
    scenario_id: str
    title: str
    channel: str
    difficulty: int
    reason: str


@dataclass
class Progress:
    agent: str
    sessions: int = 0
    replies: int = 0
    criteria: dict[str, Estimate] = field(default_factory=lambda: {c: Estimate() for c in CRITERIA})
    by_channel: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    history: list[Point] = field(default_factory=list)
    recommendation: Recommendation | None = None

    def trend(self, criterion: str, window: int = 3) -> float:
        """Change of the estimate over the last `window` sessions (0 with fewer than two sessions)."""
        if len(self.history) < 2:
            return 0.0
        before = self.history[max(0, len(self.history) - 1 - window)].estimates[criterion]
        return self.history[-1].estimates[criterion] - before

    def as_dict(self) -> dict:
        return {
            "agent": self.agent, "sessions": self.sessions, "replies": self.replies,
            "criteria": {c: {**e.as_dict(), "trend": round(self.trend(c), 4)} for c, e in self.criteria.items()},
            "by_channel": {ch: {c: e.as_dict() for c, e in per.items()} for ch, per in self.by_channel.items()},
            "history": [{"session": p.session_id, "scenario": p.scenario_id, "channel": p.channel,
                         "started_at": p.started_at.isoformat(), "estimates": {c: round(v, 4) for c, v in
                                                                              p.estimates.items()}}
                        for p in self.history],
            "recommendation": None if self.recommendation is None else vars(self.recommendation),
        }


def compute(agent: str, scored, library: ScenarioLibrary | None = None) -> Progress:
    """`scored`: (session row, turn, scores) per reply, oldest first, as `Store.scored_replies` gives."""
    progress = Progress(agent)
    seen: dict[str, tuple] = {}
    for session, _turn, scores in scored:
        verdicts = {s.criterion: s.verdict for s in scores}
        if not verdicts:
            continue
        progress.replies += 1
        per = progress.by_channel.setdefault(session.channel, {c: Estimate() for c in CRITERIA})
        for c in CRITERIA:
            if c in verdicts:
                progress.criteria[c] = progress.criteria[c].update(verdicts[c], session.difficulty)
                per[c] = per[c].update(verdicts[c], session.difficulty)
        seen[session.id] = (session, dict(progress.criteria))
    for session, estimates in seen.values():  # the estimate after each session's last reply
        progress.history.append(Point(session.id, session.scenario_id, session.channel, session.started_at,
                                      {c: e.mean for c, e in estimates.items()},
                                      {c: e.interval for c, e in estimates.items()}))
    progress.sessions = len(seen)
    if library is not None:
        played = {}
        for session, _ in seen.values():
            played[session.scenario_id] = played.get(session.scenario_id, 0) + 1
        progress.recommendation = recommend(progress, library, played)
    return progress


def target_difficulty(estimate: float) -> int:
    return 1 if estimate < 0.5 else 2 if estimate < 0.75 else 3


def recommend(progress: Progress, library: ScenarioLibrary, played: dict[str, int]) -> Recommendation | None:
    scenarios = list(library.scenarios.values())
    if not scenarios:
        return None
    weakest = min(CRITERIA, key=lambda c: (progress.criteria[c].mean, progress.criteria[c].replies))
    observed = {ch: per[weakest] for ch, per in progress.by_channel.items() if per[weakest].replies}
    channel = min(observed, key=lambda ch: observed[ch].mean) if observed else None
    estimate = observed[channel] if channel else progress.criteria[weakest]
    level = target_difficulty(estimate.mean) if progress.replies else 1
    pool = [s for s in scenarios if channel is None or str(s.channel) == channel] or scenarios
    best = min(pool, key=lambda s: (abs(s.difficulty - level), played.get(s.id, 0), -s.weight(weakest), s.id))
    low, high = estimate.interval
    where = f" on {channel.replace('_', ' ')}" if channel else ""
    reason = (f"Weakest skill: {weakest.replace('_', '-')}{where} ({estimate.mean:.0%}, 90% interval "
              f"{low:.0%}-{high:.0%}); difficulty {best.difficulty} "
              + ("to build it up." if level == 1 else "to stretch it." if level == 3 else "to consolidate it."))
    if not progress.replies:
        reason = "No sessions yet: start with an everyday case."
    return Recommendation(best.id, best.title, str(best.channel), best.difficulty, reason)
