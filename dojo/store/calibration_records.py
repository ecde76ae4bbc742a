"""Calibration rounds: items, raters, blind labels, submissions and the recorded consensus."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from dojo.store.tables import (
    LABELS,
    NA,
    Consensus,
    PracticeSession,
    Review,
    Round,
    RoundItem,
    RoundRater,
    StoreError,
    Turn,
    User,
    _named,
    now,
)


class CalibrationRecords:
    """Mixed into `Store`: needs `self.session()`."""

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
