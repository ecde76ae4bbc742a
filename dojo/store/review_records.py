"""Reviews of stored replies, trainee disputes, and imported transcripts for the review queue."""

from __future__ import annotations

from sqlalchemy import select

from dojo.store.tables import (
    LABELS,
    NA,
    Dispute,
    PracticeSession,
    Review,
    StoreError,
    Turn,
    User,
    _context,
    _same_round,
    now,
)


class ReviewRecords:
    """Mixed into `Store`: needs `self.session()`."""

    def next_to_review(self, reviewer: User, skip: tuple[int, ...] = ()) -> tuple[Turn, str] | None:
        """The next stored reply for this reviewer's queue, with the customer message it answers: replies a
        trainee disputed first, then the oldest one they have not labeled (calibration rounds aside). `skip`:
        replies the reviewer passed over for now."""
        with self.session() as s:
            mine = select(Review.turn_id).where(Review.reviewer_id == reviewer.id, Review.round_id.is_(None))
            open_disputes = select(Dispute.turn_id).where(Dispute.resolved_at.is_(None))
            turn = s.scalar(select(Turn).where(Turn.role == "agent", Turn.id.not_in(mine), Turn.id.not_in(skip))
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

    def conversation_of(self, turn_id: int) -> tuple[PracticeSession, list[Turn]] | None:
        """The session a stored reply belongs to and all of its turns in order (what a reviewer reads)."""
        with self.session() as s:
            turn = s.get(Turn, turn_id)
            if turn is None:
                return None
            row = s.get(PracticeSession, turn.session_id)
            return row, list(s.scalars(select(Turn).where(Turn.session_id == turn.session_id).order_by(Turn.index)))

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
