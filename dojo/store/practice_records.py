"""Practice sessions and their turns, scores and rule checks, committed one turn at a time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dojo.store.tables import PracticeSession, RuleCheck, Score, Turn, User, _turn, now


class PracticeRecords:
    """Mixed into `Store`: needs `self.session()`."""

    def _add_session(self, s: Session, run, user: User, rubric_version: str, model_version: str,
                     upto: int | None) -> None:
        session, scenario = run.session, run.session.scenario
        s.add(PracticeSession(
            id=session.id, user_id=user.id, scenario_id=scenario.id, scenario_version=scenario.version,
            channel=str(scenario.channel), difficulty=scenario.difficulty, seed=session.seed,
            rubric_version=rubric_version, model_version=model_version))
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
            agent = _turn(session, first, session.messages[first])
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
