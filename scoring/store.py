"""Persistent storage: users, practice sessions, turns, scores, channel-rule checks and reviews.

SQLAlchemy 2 over SQLite by default (a file under DOJO_HOME) or PostgreSQL (`DATABASE_URL`). The schema
is created and upgraded by Alembic migrations (`scoring/migrations/`), so an upgrade keeps data. Every
turn is committed as it completes: a crash loses at most the reply being typed.

Passwords are hashed with scrypt (standard library; N=2^15, r=8, p=1, 16-byte salt) and compared in
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

ROLES = ("trainee", "reviewer", "trainer", "admin")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(20))
    label: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


# --- passwords -----------------------------------------------------------------------------------

_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         maxmem=64 * 1024 * 1024, dklen=32)
    return hmac.compare_digest(got, base64.b64decode(digest))


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise StoreError("the password is too short: use at least 10 characters")


# --- the store -----------------------------------------------------------------------------------

def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'dojo.db'}"


class Store:
    """The database of one deployment. `upgrade()` brings its schema to the newest migration."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions() as s, s.begin():
            yield s

    # --- users -----------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str | None = None) -> User:
        name = name.strip()
        if not name or len(name) > 64:
            raise StoreError(f"user name {name!r}: use 1 to 64 characters")
        if role not in ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if self.find_user(name) is not None:
            raise StoreError(f"user {name!r} already exists")
        if password is not None:
            check_password_strength(password)
        try:
            with self.session() as s:
                user = User(name=name, role=role, password_hash=hash_password(password) if password else None)
                s.add(user)
        except IntegrityError:  # added by someone else since we looked
            raise StoreError(f"user {name!r} already exists") from None
        return user

    def user(self, name: str) -> User:
        with self.session() as s:
            return _named(s, name)

    def find_user(self, name: str) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.name == name))

    def users(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
        with self.session() as s:
            _named(s, name).role = role

    def set_password(self, name: str, password: str) -> None:
        check_password_strength(password)
        with self.session() as s:
            _named(s, name).password_hash = hash_password(password)

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.find_user(name)
        if user is None:
            verify_password(password, _dummy_hash())  # same work whether or not the name exists
            return None
        return user if verify_password(password, user.password_hash) else None

    def agent(self, name: str, role: str = "trainee") -> User:
        """The user a recorded practice session belongs to; an unknown name becomes a user without a
        password (it cannot log in until an admin sets one). Safe when two requests ask at once."""
        user = self.find_user(name)
        if user is not None:
            return user
        try:
            return self.add_user(name, role)
        except StoreError:  # created by a concurrent request since we looked
            found = self.find_user(name)
            if found is None:
                raise
            return found

    # --- practice ----------------------------------------------------------------------------------

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


    # --- reviews -----------------------------------------------------------------------------------

    def next_to_review(self, reviewer: User) -> tuple[Turn, str] | None:
        """The oldest stored reply this reviewer has not labeled yet, with the customer message it answers."""
        with self.session() as s:
            mine = select(Review.turn_id).where(Review.reviewer_id == reviewer.id)
            turn = s.scalar(select(Turn).where(Turn.role == "agent", Turn.id.not_in(mine))
                            .order_by(Turn.created_at, Turn.id).limit(1))
            if turn is None:
                return None
            before = s.scalar(select(Turn).where(Turn.session_id == turn.session_id, Turn.index == turn.index - 1))
            return turn, before.text if before is not None else ""

    def add_review(self, turn_id: int, reviewer: User, labels: dict[str, int], round_id: str | None = None) -> None:
        """A reviewer's labels for one reply (0 or 1 per criterion); labeling it again replaces them."""
        with self.session() as s:
            turn = s.get(Turn, turn_id)
            if turn is None or turn.role != "agent":
                raise StoreError(f"no stored reply {turn_id}")
            for old in s.scalars(select(Review).where(Review.turn_id == turn_id, Review.reviewer_id == reviewer.id)):
                s.delete(old)
            for criterion, label in labels.items():
                s.add(Review(turn_id=turn_id, reviewer_id=reviewer.id, criterion=criterion, label=int(bool(label)),
                             round_id=round_id))

    def reviews_of(self, turn_id: int) -> list[Review]:
        with self.session() as s:
            return list(s.scalars(select(Review).where(Review.turn_id == turn_id).order_by(Review.id)))


def _named(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise StoreError(f"no user {name!r}")
    return user


def _turn(session, index: int, message) -> Turn:
    return Turn(session_id=session.id, index=index, role=message.role, text=message.text,
                channel=str(session.scenario.channel), response_s=message.response_s, beat=message.beat,
                guard=message.guard, mood=message.mood)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash keeps commits
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@cache
def _dummy_hash() -> str:
    return hash_password(os.urandom(8).hex())
