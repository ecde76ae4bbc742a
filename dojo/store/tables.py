"""The tables: users, practice sessions, turns, scores, rule checks, reviews, calibration rounds, disputes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from dojo.store.resume import turn_detail

ROLES = ("trainee", "reviewer", "trainer", "admin")
NA = -1  # a review label: the criterion does not apply to this reply
LABELS = {1: "met", 0: "not met", NA: "n/a"}


class StoreError(ValueError):
    """A request the store cannot take (unknown user, name taken, bad role). One line."""


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class PracticeSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(80))
    scenario_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    difficulty: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    rubric_version: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="practice", server_default="practice")  # | import
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # an imported conversation's id
    # The scenario as the session started on it (JSON of simulator.scenario.Scenario): continuing a session
    # never depends on the library's file, which a trainer may have changed since. None: not resumable.
    scenario_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    turns: Mapped[list[Turn]] = relationship(back_populates="session", order_by="Turn.index")


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("session_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))  # customer | agent
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    response_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    beat: Mapped[str | None] = mapped_column(String(80), nullable=True)
    guard: Mapped[str | None] = mapped_column(String(80), nullable=True)
    mood: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # What continuing the session needs (JSON, dojo/store/resume.py): the message as the session saw it; after a
    # customer message the customer's state; after a reply its feedback (scores, rules, the customer's turn).
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    session: Mapped[PracticeSession] = relationship(back_populates="turns")
    scores: Mapped[list[Score]] = relationship(order_by="Score.criterion")
    rules: Mapped[list[RuleCheck]] = relationship(order_by="RuleCheck.rule")


class Score(Base):
    __tablename__ = "scores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(20))
    probability: Mapped[float] = mapped_column(Float)
    verdict: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[str] = mapped_column(Text)
    scenario_id: Mapped[str] = mapped_column(String(80))
    scenario_version: Mapped[int] = mapped_column(Integer)
    rubric_version: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(80))


class RuleCheck(Base):
    __tablename__ = "rule_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)


class Review(Base):
    """A reviewer's label for one reply and criterion: 1 met, 0 not met, NA (-1) not applicable. Labels given
    in a calibration round carry its id (as text) and are kept apart from the reviewer's free reviews."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(20))
    label: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Round(Base):
    """A blind calibration round: a lead picks replies and reviewers; each labels every reply alone."""

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RoundItem(Base):
    __tablename__ = "round_items"
    __table_args__ = (UniqueConstraint("round_id", "turn_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    position: Mapped[int] = mapped_column(Integer)


class RoundRater(Base):
    __tablename__ = "round_raters"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Consensus(Base):
    """The label a lead recorded for a reply and criterion after discussion: training data, with provenance."""

    __tablename__ = "consensus"
    __table_args__ = (UniqueConstraint("turn_id", "criterion"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    criterion: Mapped[str] = mapped_column(String(20))
    label: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"), nullable=True)
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Dispute(Base):
    """A trainee's disagreement with a verdict on one of their replies; it puts the reply in the review queue."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    criterion: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# --- helpers the record classes share ---------------------------------------------------------

def _named(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise StoreError(f"no user {name!r}")
    return user


def _context(s: Session, turn: Turn) -> str:
    """The customer message a reply answers (the turn before it), or "" for a reply that opens."""
    before = s.scalar(select(Turn).where(Turn.session_id == turn.session_id, Turn.index == turn.index - 1))
    return before.text if before is not None else ""


def _same_round(key: str | None):
    return Review.round_id.is_(None) if key is None else Review.round_id == key


def _turn(session, index: int, message, result=None) -> Turn:
    return Turn(session_id=session.id, index=index, role=message.role, text=message.text,
                channel=str(session.scenario.channel), response_s=message.response_s, beat=message.beat,
                guard=message.guard, mood=message.mood, detail=turn_detail(message, result))
