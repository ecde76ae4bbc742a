"""Practice sessions and their turns, scores and rule checks, committed one turn at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dojo.store.resume import StoredRun, rebuild, scenario_json
from dojo.store.tables import PracticeSession, RuleCheck, Score, Turn, User, _turn, now


@dataclass(frozen=True)
class SessionSummary:
    """One practice session as `dojo sessions list` and "My sessions" show it."""

    id: str
    agent: str
    scenario_id: str
    scenario_version: int
    channel: str
    started_at: datetime
    replies: int
    outcome: str | None
    resumable: bool

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def as_dict(self) -> dict:
        return {"id": self.id, "agent": self.agent, "scenario": self.scenario_id,
                "scenario_version": self.scenario_version, "channel": self.channel,
                "started_at": self.started_at.isoformat(), "replies": self.replies, "outcome": self.outcome,
                "finished": self.finished, "resumable": self.resumable}


class PracticeRecords:
    """Mixed into `Store`: needs `self.session()`."""

    def _add_session(self, s: Session, run, user: User, rubric_version: str, model_version: str,
                     upto: int | None) -> None:
        session, scenario = run.session, run.session.scenario
        s.add(PracticeSession(
            id=session.id, user_id=user.id, scenario_id=scenario.id, scenario_version=scenario.version,
            channel=str(scenario.channel), difficulty=scenario.difficulty, seed=session.seed,
            rubric_version=rubric_version, model_version=model_version, scenario_json=scenario_json(scenario),
            started_at=session.opened_at))  # when it was opened (the page's clock reads from there)
        for i, message in enumerate(session.messages[:upto]):
            s.add(_turn(session, i, message))

    def record_turn(self, run, result, new_session: tuple[User, str, str] | None = None) -> None:
        """The trainee's reply with its scores and rule checks, and the customer's answer: one commit.
        `new_session` (user, rubric version, model version): the session's first reply, so the session
        row and its opening are written in the same transaction."""
        session = run.session
        scenario = session.scenario
        first = len(session.messages) - 2  # the agent's message and the customer's answer just added
        with self.session() as s:
            if new_session is not None:
                self._add_session(s, run, *new_session, upto=first)
                s.flush()
            agent = _turn(session, first, session.messages[first], result)
            s.add(agent)
            s.flush()
            for c, crit in result.score.criteria.items():
                s.add(Score(turn_id=agent.id, criterion=c, probability=crit.probability, verdict=crit.verdict,
                            evidence=crit.evidence, scenario_id=scenario.id, scenario_version=scenario.version,
                            rubric_version=result.score.rubric_version, model_version=result.score.model_version))
            for rule in result.rules:
                s.add(RuleCheck(turn_id=agent.id, rule=rule.rule, passed=rule.passed, message=rule.message,
                                evidence=rule.evidence))
            s.add(_turn(session, first + 1, session.messages[first + 1]))
            row = s.get(PracticeSession, session.id)
            if row is not None and session.ended:
                row.ended_at, row.outcome = now(), session.outcome

    def turn_count(self, session_id: str) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(Turn).where(Turn.session_id == session_id)) or 0)

    def load_run(self, session_id: str) -> StoredRun | None:
        """A stored practice session rebuilt to continue it; None if there is none with this id;
        NotResumable if it cannot be continued."""
        with self.session() as s:
            found = s.execute(select(PracticeSession, User.name).join(User, User.id == PracticeSession.user_id)
                              .where(PracticeSession.id == session_id, PracticeSession.source == "practice")).first()
            if found is None:
                return None
            row, owner = found
            details = list(s.scalars(select(Turn.detail).where(Turn.session_id == session_id).order_by(Turn.index)))
            return rebuild(row.id, owner, row.seed, row.started_at, row.scenario_json, details)

    def practice_sessions(self, agent: str | None = None, unfinished: bool = False) -> list[SessionSummary]:
        """Practice sessions, newest first; of one agent; only those not ended."""
        with self.session() as s:
            replies = (select(Turn.session_id, func.count().label("n")).where(Turn.role == "agent")
                       .group_by(Turn.session_id).subquery())
            query = (select(PracticeSession, User.name, replies.c.n)
                     .join(User, User.id == PracticeSession.user_id)
                     .outerjoin(replies, replies.c.session_id == PracticeSession.id)
                     .where(PracticeSession.source == "practice")
                     .order_by(PracticeSession.started_at.desc()))
            if agent:
                query = query.where(User.name == agent)
            if unfinished:
                query = query.where(PracticeSession.outcome.is_(None))
            return [SessionSummary(row.id, name, row.scenario_id, row.scenario_version, row.channel, row.started_at,
                                   int(n or 0), row.outcome, row.scenario_json is not None)
                    for row, name, n in s.execute(query)]

    def sessions_of(self, user: User) -> list[PracticeSession]:
        with self.session() as s:
            rows = s.scalars(select(PracticeSession).where(PracticeSession.user_id == user.id)
                             .order_by(PracticeSession.started_at))
            return list(rows)

    def scored_replies(self, user: User) -> list[tuple[PracticeSession, Turn, list[Score]]]:
        """Every scored reply of a user, oldest first, with its session and scores."""
        with self.session() as s:
            rows = s.execute(
                select(PracticeSession, Turn).join(Turn, Turn.session_id == PracticeSession.id)
                .where(PracticeSession.user_id == user.id, Turn.role == "agent")
                .order_by(PracticeSession.started_at, Turn.index)).all()
            # All their scores in one query, not one query per reply (the team view reads every agent).
            by_turn: dict[int, list[Score]] = {}
            for score in s.scalars(select(Score).where(Score.turn_id.in_([t.id for _, t in rows]))
                                   .order_by(Score.criterion)):
                by_turn.setdefault(score.turn_id, []).append(score)
            return [(session_row, turn, by_turn.get(turn.id, [])) for session_row, turn in rows]
