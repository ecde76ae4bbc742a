"""Storage: migrations, accounts, practice sessions committed turn by turn, skill progress; on SQLite and
on a real PostgreSQL that the tests start themselves (Debian's postgresql package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from dojo import progress
from dojo.services import Services
from dojo.store import Store, StoreError, hash_password, sqlite_url, verify_password
from tests.conftest import with_database
from tests.pg import create_database

ROOT = Path(__file__).resolve().parent.parent
GOOD = ("I'm so sorry your parcel is late, that's our mistake. I've reshipped it by express at no charge; it "
        "arrives tomorrow before noon. I'll message you here once it's out for delivery.")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return create_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def db(db_url) -> Store:
    store = Store(db_url)
    store.upgrade()
    yield store
    store.engine.dispose()


@pytest.fixture
def services(fast_services, db_url, tmp_path) -> Services:
    """The fast services (scripted customer, hashing embedder) over a database of their own."""
    other = with_database(fast_services, db_url)
    yield other
    other.db.engine.dispose()


def test_migrations_create_the_schema_and_running_them_again_changes_nothing(db):
    db.upgrade()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "sessions", "turns", "scores", "rule_checks", "reviews", "rounds", "round_items",
            "round_raters", "consensus", "disputes", "alembic_version"} <= tables
    with db.engine.connect() as c:
        assert c.execute(sa.text("select version_num from alembic_version")).scalar() == "0003"


def test_accounts_roles_and_passwords(db):
    db.add_user("ana", "trainee", "correct horse battery")
    assert db.authenticate("ana", "correct horse battery").role == "trainee"
    assert db.authenticate("ana", "Correct horse battery") is None and db.authenticate("nobody", "x") is None
    with pytest.raises(StoreError, match="user 'ana' already exists"):
        db.add_user("ana", "trainer", "another long password")
    with pytest.raises(StoreError, match="role 'boss' is not one of trainee, reviewer, trainer, admin"):
        db.add_user("bob", "boss", "correct horse battery")
    with pytest.raises(StoreError, match="at least 10 characters"):
        db.add_user("bob", "trainee", "short")
    db.set_role("ana", "reviewer")
    db.set_password("ana", "a brand new password")
    assert db.authenticate("ana", "a brand new password").role == "reviewer"
    with pytest.raises(StoreError, match="no user 'zoe'"):
        db.set_role("zoe", "admin")


def test_passwords_are_stored_as_scrypt_hashes_with_their_own_salt():
    a, b = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert a != b and a.startswith("scrypt$32768$8$1$") and "correct" not in a
    assert verify_password("correct horse battery", a) and not verify_password("wrong", a)
    assert not verify_password("anything", None) and not verify_password("x", "md5$abc")


def test_every_turn_is_committed_as_it_completes(services):
    run = services.start_run("late-parcel-chat", seed=3, agent="ana")
    db = services.db
    assert db.sessions_of(db.user("ana")) == []  # opening a scenario is not practice: stored at the first reply
    services.reply(run, "Let me check.")
    [row] = db.sessions_of(db.user("ana"))
    assert row.scenario_id == "late-parcel-chat" and row.outcome is None and row.channel == "live_chat"
    with db.session() as s:
        turns = s.scalars(sa.select(sa.text("role")).select_from(sa.text("turns"))).all()
    assert turns == ["customer", "agent", "customer"]
    services.reply(run, GOOD)
    replies = db.scored_replies(db.user("ana"))
    assert [t.text for _, t, _ in replies] == ["Let me check.", GOOD]
    for session_row, _turn, scores in replies:
        assert {s.criterion for s in scores} == {"empathy", "ownership", "solution", "follow_up"}
        assert all(s.model_version == services.scorer.version and s.rubric_version for s in scores)
        assert session_row.rubric_version.startswith("digital-cs-core@")
    if run.session.ended:
        [row] = db.sessions_of(db.user("ana"))
        assert row.outcome == run.session.outcome and row.ended_at is not None


def test_sessions_without_an_agent_are_not_stored(services):
    run = services.start_run("late-parcel-chat", seed=3)
    services.reply(run, GOOD)
    assert services.db.users() == []


def test_a_run_answers_only_its_owner(services):
    from dojo.services import UnknownRunError

    run = services.start_run("late-parcel-chat", seed=3, agent="ana")
    assert services.run(run.session.id, user="ana") is run
    with pytest.raises(UnknownRunError, match="no practice session"):
        services.run(run.session.id, user="ben")


def test_progress_rises_with_good_sessions_and_recommends_the_weakest_skill(services):
    for seed in range(3):
        run = services.start_run("late-parcel-chat", seed=seed, agent="ana")
        services.reply(run, GOOD)
    report = progress.compute("ana", services.db.scored_replies(services.db.user("ana")), services.library)
    assert report.sessions == 3 and report.replies == 3 and len(report.history) == 3
    assert report.criteria["solution"].mean > 0.5 and report.criteria["solution"].replies == 3
    low, high = report.criteria["solution"].interval
    assert 0 <= low < report.criteria["solution"].mean < high <= 1
    assert set(report.by_channel) == {"live_chat"}
    weakest = min(report.criteria, key=lambda c: (report.criteria[c].mean, report.criteria[c].replies))
    assert weakest.replace("_", "-") in report.recommendation.reason


def test_difficulty_weighs_the_evidence():
    start = progress.Estimate()
    assert start.update(True, 3).mean > start.update(True, 1).mean  # a hard success says more
    assert start.update(False, 1).mean < start.update(False, 3).mean  # an easy miss says more
    many = start
    for _ in range(20):
        many = many.update(True, 2)
    assert many.interval[1] - many.interval[0] < start.interval[1] - start.interval[0]


def _dojo(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dojo", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, input=stdin, timeout=300)


def test_dojo_users_and_progress_from_the_command_line(fast_services, new_database):
    db_url = new_database()
    env = {**os.environ, "DOJO_HOME": str(fast_services.settings.home), "DOJO_EMBEDDER": "hashing",
           "DATABASE_URL": db_url, "DOJO_CUSTOMER_BACKEND": "scripted"}
    done = _dojo(env, "users", "add", "ana", "--role", "trainee", "--password-stdin", stdin="correct horse battery\n")
    assert done.returncode == 0 and done.stdout.strip() == "added ana (trainee)"
    done = _dojo(env, "users", "add", "ana", "--role", "trainee", "--password-stdin", stdin="correct horse battery\n")
    assert done.returncode == 2 and done.stderr.strip() == "dojo: user 'ana' already exists"
    assert _dojo(env, "users", "set-role", "ana", "reviewer").returncode == 0
    done = _dojo(env, "users", "reset-password", "ana", "--password-stdin", stdin="short\n")
    assert done.returncode == 2 and "at least 10 characters" in done.stderr
    done = _dojo(env, "users", "add", "zoe", "--role", "admin")
    assert done.returncode == 2 and "--password-stdin" in done.stderr  # no terminal to ask on
    rows = json.loads(_dojo(env, "users", "list", "--json").stdout)
    assert rows == [{"name": "ana", "role": "reviewer", "can_log_in": True, "sessions": 0}]

    replies = fast_services.settings.home / "replies.txt"
    replies.write_text(GOOD + "\n")
    assert _dojo(env, "play", "late-parcel-chat", "--replies", str(replies), "--agent", "ben").returncode == 0
    report = json.loads(_dojo(env, "progress", "ben", "--json").stdout)
    assert report["sessions"] == 1 and report["replies"] == 1
    assert report["history"][0]["scenario"] == "late-parcel-chat" and report["recommendation"]["scenario_id"]
    assert set(report["criteria"]["solution"]) == {"estimate", "low", "high", "replies", "trend"}
    done = _dojo(env, "progress", "nobody")
    assert done.returncode == 2 and done.stderr.strip() == "dojo: no user 'nobody'"


def test_a_killed_process_loses_no_completed_turn(fast_services, db_url, tmp_path):
    """kill -9 in the middle of a session: every turn completed before it is in the database."""
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from dojo.services import Services
        from simulator.settings import Settings
        s = Services(Settings(home=Path({str(fast_services.settings.home)!r}), customer_backend="scripted",
                              database_url={db_url!r}), embedder_kind="hashing")
        run = s.start_run("late-parcel-chat", seed=1, agent="ana")
        s.reply(run, "Let me check that for you.")
        s.reply(run, "Could you tell me the order number?")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    db = Store(db_url)
    replies = db.scored_replies(db.user("ana"))
    assert [t.text for _, t, _ in replies] == ["Let me check that for you.", "Could you tell me the order number?"]
    assert all(len(scores) == 4 for _, _, scores in replies)
    db.engine.dispose()


def test_a_user_asked_for_by_many_requests_at_once_is_created_once(db):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda _: db.agent("local", role="admin"), range(16)))
    assert {u.id for u in users} == {users[0].id} and users[0].role == "admin"
    assert [u.name for u in db.users()] == ["local"]
