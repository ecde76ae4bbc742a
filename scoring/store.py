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
NA = -1  # a review label: the criterion does not apply to this reply
LABELS = {1: "met", 0: "not met", NA: "n/a"}
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
    source: Mapped[str] = mapped_column(String(20), default="practice", server_default="practice")  # | import
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # an imported conversation's id
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

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

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
        """The next stored reply for this reviewer's queue, with the customer message it answers: replies a
        trainee disputed first, then the oldest one they have not labeled (calibration rounds aside)."""
        with self.session() as s:
            mine = select(Review.turn_id).where(Review.reviewer_id == reviewer.id, Review.round_id.is_(None))
            open_disputes = select(Dispute.turn_id).where(Dispute.resolved_at.is_(None))
            turn = s.scalar(select(Turn).where(Turn.role == "agent", Turn.id.not_in(mine))
                            .order_by(Turn.id.not_in(open_disputes), Turn.created_at, Turn.id).limit(1))
            if turn is None:
                return None
            return turn, _context(s, turn)

    def add_review(self, turn_id: int, reviewer: User, labels: dict[str, int | bool], round_id: int | None = None,
                   comment: str | None = None) -> None:
        """A reviewer's labels for one reply: 1 (met), 0 (not met) or NA (not applicable) per criterion, and an
        optional comment. Labeling it again replaces them. A review settles the reply's open disputes."""
        comment = (comment or "").strip() or None
        if comment and len(comment) > 2000:
            raise StoreError(f"the comment is {len(comment)} characters; the limit is 2000")
        values = {}
        for criterion, label in labels.items():
            value = int(label) if isinstance(label, bool | int) else label
            if value not in LABELS:
                raise StoreError(f"{criterion}: label {label!r} is not 1 (met), 0 (not met) or {NA} (n/a)")
            values[criterion] = value
        key = None if round_id is None else str(round_id)
        with self.session() as s:
            turn = s.get(Turn, turn_id)
            if turn is None or turn.role != "agent":
                raise StoreError(f"no stored reply {turn_id}")
            for old in s.scalars(select(Review).where(Review.turn_id == turn_id, Review.reviewer_id == reviewer.id,
                                                      _same_round(key))):
                s.delete(old)
            for criterion, value in values.items():
                s.add(Review(turn_id=turn_id, reviewer_id=reviewer.id, criterion=criterion, label=value,
                             round_id=key, note=comment))
            if key is None:
                for dispute in s.scalars(select(Dispute).where(Dispute.turn_id == turn_id,
                                                               Dispute.resolved_at.is_(None))):
                    dispute.resolved_at = now()

    def reviews_of(self, turn_id: int) -> list[Review]:
        with self.session() as s:
            return list(s.scalars(select(Review).where(Review.turn_id == turn_id).order_by(Review.id)))

    def turns(self, turn_ids: list[int]) -> dict[int, tuple[Turn, str]]:
        """Stored replies by id, each with the customer message it answers."""
        with self.session() as s:
            return {t.id: (t, _context(s, t)) for t in s.scalars(select(Turn).where(Turn.id.in_(turn_ids)))}

    def recent_replies(self, limit: int = 200) -> list[Turn]:
        """The newest stored replies (practice and imported), for a lead picking a calibration round."""
        with self.session() as s:
            return list(s.scalars(select(Turn).where(Turn.role == "agent").order_by(Turn.id.desc()).limit(limit)))

    # --- disputes ----------------------------------------------------------------------------------

    def add_dispute(self, session_id: str, user: User, criterion: str, comment: str) -> Dispute:
        """A trainee disputes a verdict on their latest reply in one of their sessions."""
        comment = (comment or "").strip()
        if not comment:
            raise StoreError("say why you disagree with the verdict (the comment is empty)")
        if len(comment) > 2000:
            raise StoreError(f"the comment is {len(comment)} characters; the limit is 2000")
        with self.session() as s:
            session = s.get(PracticeSession, session_id)
            if session is None or session.user_id != user.id:
                raise StoreError("no stored reply of yours in this session: send a reply first")
            turn = s.scalar(select(Turn).where(Turn.session_id == session_id, Turn.role == "agent")
                            .order_by(Turn.index.desc()).limit(1))
            if turn is None:
                raise StoreError("no stored reply of yours in this session: send a reply first")
            dispute = Dispute(turn_id=turn.id, user_id=user.id, criterion=criterion, comment=comment)
            s.add(dispute)
        return dispute

    def disputes_of(self, turn_id: int) -> list[Dispute]:
        with self.session() as s:
            return list(s.scalars(select(Dispute).where(Dispute.turn_id == turn_id).order_by(Dispute.id)))

    # --- calibration rounds ------------------------------------------------------------------------

    def create_round(self, name: str, lead: User, turn_ids: list[int], raters: list[str]) -> Round:
        name = (name or "").strip() or f"Round of {now():%Y-%m-%d %H:%M}"
        turn_ids = list(dict.fromkeys(int(t) for t in turn_ids))
        names = list(dict.fromkeys(r.strip() for r in raters if r.strip()))
        if not turn_ids:
            raise StoreError("pick at least one reply for the round")
        if len(names) < 2:
            raise StoreError("pick at least two reviewers: agreement needs two raters or more")
        with self.session() as s:
            users = [_named(s, n) for n in names]
            for u in users:
                if u.role == "trainee":
                    raise StoreError(f"{u.name} is a trainee; rounds are rated by reviewers, trainers or admins")
            found = set(s.scalars(select(Turn.id).where(Turn.id.in_(turn_ids), Turn.role == "agent")))
            missing = [t for t in turn_ids if t not in found]
            if missing:
                raise StoreError(f"no stored reply {missing[0]}")
            row = Round(name=name[:120], lead_id=lead.id)
            s.add(row)
            s.flush()
            for i, t in enumerate(turn_ids):
                s.add(RoundItem(round_id=row.id, turn_id=t, position=i))
            for u in users:
                s.add(RoundRater(round_id=row.id, user_id=u.id))
        return row

    def rounds(self) -> list[Round]:
        with self.session() as s:
            return list(s.scalars(select(Round).order_by(Round.id.desc())))

    def round(self, round_id: int) -> Round:
        with self.session() as s:
            row = s.get(Round, int(round_id))
            if row is None:
                raise StoreError(f"no calibration round {round_id}")
            return row

    def round_items(self, round_id: int) -> list[int]:
        with self.session() as s:
            return list(s.scalars(select(RoundItem.turn_id).where(RoundItem.round_id == int(round_id))
                                  .order_by(RoundItem.position)))

    def round_raters(self, round_id: int) -> list[tuple[str, datetime | None]]:
        """(reviewer name, when they submitted or None) for each of the round's raters."""
        with self.session() as s:
            rows = s.execute(select(User.name, RoundRater.submitted_at).join(User, User.id == RoundRater.user_id)
                             .where(RoundRater.round_id == int(round_id)).order_by(User.name)).all()
            return [(name, at) for name, at in rows]

    def rounds_for(self, reviewer: User) -> list[tuple[Round, datetime | None]]:
        """The rounds this reviewer rates, newest first, with when they submitted."""
        with self.session() as s:
            rows = s.execute(select(Round, RoundRater.submitted_at).join(RoundRater, RoundRater.round_id == Round.id)
                             .where(RoundRater.user_id == reviewer.id).order_by(Round.id.desc())).all()
            return [(r, at) for r, at in rows]

    def round_labels_of(self, round_id: int, reviewer: User) -> dict[int, dict[str, int]]:
        """This reviewer's own labels in a round (what they may see while it is blind)."""
        with self.session() as s:
            out: dict[int, dict[str, int]] = {}
            for r in s.scalars(select(Review).where(Review.round_id == str(round_id),
                                                    Review.reviewer_id == reviewer.id)):
                out.setdefault(r.turn_id, {})[r.criterion] = r.label
            return out

    def round_notes(self, round_id: int) -> dict[int, dict[str, str]]:
        """reply id -> reviewer -> their comment, for the replies they commented on in a round."""
        with self.session() as s:
            rows = s.execute(select(Review.turn_id, User.name, Review.note).join(User, User.id == Review.reviewer_id)
                             .where(Review.round_id == str(round_id), Review.note.is_not(None))).all()
            out: dict[int, dict[str, str]] = {}
            for turn_id, name, note in rows:
                out.setdefault(turn_id, {})[name] = note
            return out

    def submit_round(self, round_id: int, reviewer: User, criteria: tuple[str, ...]) -> None:
        """A reviewer hands in their labels; every reply must have a label on every criterion."""
        items = self.round_items(round_id)
        mine = self.round_labels_of(round_id, reviewer)
        for position, turn_id in enumerate(items, 1):
            missing = [c for c in criteria if c not in mine.get(turn_id, {})]
            if missing:
                raise StoreError(f"reply {position} of {len(items)} has no label for {missing[0]} yet")
        with self.session() as s:
            rater = s.scalar(select(RoundRater).where(RoundRater.round_id == int(round_id),
                                                      RoundRater.user_id == reviewer.id))
            if rater is None:
                raise StoreError(f"you are not a rater in round {round_id}")
            rater.submitted_at = rater.submitted_at or now()

    def round_ratings(self, round_id: int) -> dict[str, dict[str, dict[int, int]]]:
        """criterion -> reviewer -> reply id -> label, from every rater's round labels."""
        with self.session() as s:
            rows = s.execute(select(Review, User.name).join(User, User.id == Review.reviewer_id)
                             .where(Review.round_id == str(round_id))).all()
            out: dict[str, dict[str, dict[int, int]]] = {}
            for review, name in rows:
                out.setdefault(review.criterion, {}).setdefault(name, {})[review.turn_id] = review.label
            return out

    def set_consensus(self, turn_id: int, labels: dict[str, int], lead: User, round_id: int | None = None) -> None:
        """The agreed label per criterion for a reply; recording it again replaces it."""
        for criterion, label in labels.items():
            if label not in LABELS:
                raise StoreError(f"{criterion}: label {label!r} is not 1 (met), 0 (not met) or {NA} (n/a)")
        with self.session() as s:
            for criterion, label in labels.items():
                row = s.scalar(select(Consensus).where(Consensus.turn_id == turn_id, Consensus.criterion == criterion))
                if row is None:
                    s.add(Consensus(turn_id=turn_id, criterion=criterion, label=label, round_id=round_id,
                                    decided_by=lead.id))
                else:
                    row.label, row.round_id, row.decided_by, row.created_at = label, round_id, lead.id, now()

    def consensus(self, turn_ids: list[int] | None = None) -> dict[int, dict[str, Consensus]]:
        """reply id -> criterion -> consensus row (every reply with a consensus, or only those asked for)."""
        with self.session() as s:
            query = select(Consensus)
            if turn_ids is not None:
                query = query.where(Consensus.turn_id.in_(turn_ids))
            out: dict[int, dict[str, Consensus]] = {}
            for row in s.scalars(query):
                out.setdefault(row.turn_id, {})[row.criterion] = row
            return out

    def consensus_replies(self) -> list[tuple[Turn, PracticeSession, dict[str, Consensus]]]:
        """Every reply with a consensus label, with its session (channel) and labels: training data."""
        by_turn = self.consensus()
        with self.session() as s:
            rows = s.execute(select(Turn, PracticeSession).join(PracticeSession, PracticeSession.id == Turn.session_id)
                             .where(Turn.id.in_(list(by_turn))).order_by(Turn.id)).all()
            return [(turn, session, by_turn[turn.id]) for turn, session in rows]

    # --- imported transcripts ----------------------------------------------------------------------

    def import_conversations(self, conversations: list, source_name: str) -> list:
        """Help-desk conversations (see scoring/transcripts.py) as stored sessions, all in one transaction:
        a file is imported whole or not at all. A conversation id imported before is skipped. Returns the
        conversations added."""
        added = []
        with self.session() as s:
            known = set(s.scalars(select(PracticeSession.external_id).where(PracticeSession.source == "import")))
            agents: dict[str, User] = {}
            for conv in conversations:
                if conv.id in known:
                    continue
                name = conv.agent or "imported"
                user = agents.get(name) or s.scalar(select(User).where(User.name == name))
                if user is None:
                    user = User(name=name, role="trainee")
                    s.add(user)
                    s.flush()
                agents[name] = user
                session = PracticeSession(
                    id=secrets.token_hex(16), user_id=user.id, scenario_id=f"import:{source_name}"[:80],
                    scenario_version=0, channel=conv.channel, difficulty=2, seed=0, rubric_version="",
                    model_version="", started_at=conv.messages[0].at, source="import", external_id=conv.id)
                s.add(session)
                for i, m in enumerate(conv.messages):
                    s.add(Turn(session_id=session.id, index=i, role=m.role, text=m.text, channel=conv.channel,
                               created_at=m.at))
                known.add(conv.id)
                added.append(conv)
        return added


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
