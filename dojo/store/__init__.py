"""Persistent storage of one deployment.

SQLAlchemy 2 over SQLite by default (a file under DOJO_HOME) or PostgreSQL (`DATABASE_URL`). The schema
is created and upgraded by Alembic migrations (`dojo/migrations/`), so an upgrade keeps data. Every
turn is committed as it completes: a crash loses at most the reply being typed.

`Store` is one object for callers, put together from one class per kind of record: accounts
(`accounts.py`), practice sessions (`practice_records.py`), reviews and disputes (`review_records.py`),
calibration rounds (`calibration_records.py`) and imported transcripts (`transcript_records.py`), over the
tables in `tables.py`; passwords in `passwords.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dojo.store.accounts import Accounts
from dojo.store.calibration_records import CalibrationRecords
from dojo.store.passwords import check_password_strength, hash_password, verify_password
from dojo.store.practice_records import PracticeRecords
from dojo.store.review_records import ReviewRecords
from dojo.store.tables import (
    LABELS,
    NA,
    ROLES,
    Base,
    Consensus,
    Dispute,
    PracticeSession,
    Review,
    Round,
    RoundItem,
    RoundRater,
    RuleCheck,
    Score,
    StoreError,
    Turn,
    User,
    now,
)
from dojo.store.transcript_records import TranscriptRecords

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

__all__ = ["LABELS", "MIGRATIONS", "NA", "ROLES", "Base", "Consensus", "Dispute", "PracticeSession", "Review",
           "Round", "RoundItem", "RoundRater", "RuleCheck", "Score", "Store", "StoreError", "Turn", "User",
           "check_password_strength", "hash_password", "now", "sqlite_url", "verify_password"]


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'dojo.db'}"


class Store(Accounts, PracticeRecords, ReviewRecords, CalibrationRecords, TranscriptRecords):
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


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash keeps commits
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
