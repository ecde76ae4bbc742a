"""Databases made before the code moved keep working: the migration scripts moved from scoring/migrations/ to
dojo/migrations/, their revision ids did not."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from dojo.store import MIGRATIONS, Store, sqlite_url
from tests.conftest import FIXTURES

# Written by the previous layout (commit 844f1ef: scoring/store.py, migrations 0001 and 0002), as `sqlite3 .dump`:
# two users, one practice session of late-parcel-chat with its turns, scores and rule checks.
PREVIOUS = FIXTURES / "db" / "previous-layout.sql"


def previous_database(tmp_path) -> Store:
    with sqlite3.connect(tmp_path / "dojo.db") as db:
        db.executescript(PREVIOUS.read_text(encoding="utf-8"))
    return Store(sqlite_url(tmp_path))


def test_the_migration_scripts_keep_their_revision_ids():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert MIGRATIONS.parent.name == "dojo"
    assert [s.revision for s in scripts.walk_revisions()] == ["0003", "0002", "0001"]


def test_a_database_of_the_previous_layout_upgrades_and_keeps_its_data(tmp_path):
    store = previous_database(tmp_path)
    store.upgrade()
    with store.session() as s:
        assert s.execute(text("select version_num from alembic_version")).scalar() == "0003"
    assert [u.name for u in store.users()] == ["ana", "rev"]
    assert store.authenticate("ana", "correct horse battery") is not None
    ana = store.user("ana")
    (session,) = store.sessions_of(ana)
    assert session.scenario_id == "late-parcel-chat"
    replies = store.scored_replies(ana)
    assert len(replies) == 1
    _, turn, scores = replies[0]
    assert turn.text.startswith("I'm so sorry your parcel is late")
    assert {s.criterion for s in scores} == {"empathy", "ownership", "solution", "follow_up"}


def test_the_upgraded_database_takes_new_records(tmp_path):
    store = previous_database(tmp_path)
    store.upgrade()
    store.add_user("new-trainer", "trainer", "a long enough password")
    assert store.user("new-trainer").role == "trainer"
