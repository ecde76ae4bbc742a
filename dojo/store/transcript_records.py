"""Conversations imported from help-desk exports, stored as sessions for the review queue."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from dojo.store.tables import PracticeSession, Turn, User


class TranscriptRecords:
    """Mixed into `Store`: needs `self.session()`."""

    def import_conversations(self, conversations: list, source_name: str) -> list:
        """Help-desk conversations (see dojo/transcripts.py) as stored sessions, all in one transaction:
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
