"""Sessions live in the database: another process, a restart or a reload continues a session where it stopped."""

from __future__ import annotations

import pytest

from dojo.services import SessionMovedOn, UnknownRunError
from tests.conftest import with_database

FIRST = "I'm so sorry about the wait! Could you give me the order number?"
FIX = ("I'll reship your order by express now at no cost; it should be with you on Thursday. "
       "I'll message you as soon as it's out for delivery.")


@pytest.fixture
def two_servers(fast_services, new_database):
    """Two app processes' services over one database (nothing shared in memory but the loaded models)."""
    url = new_database()
    return with_database(fast_services, url), with_database(fast_services, url)


def test_another_process_continues_a_session_where_it_stopped(two_servers):
    a, b = two_servers
    run = a.start_run("late-parcel-chat", seed=3, agent="ana")
    a.reply(run, FIRST, delay_s=20)
    resumed = b.run(run.session.id, user="ana")  # b never saw this session
    assert resumed is not run
    assert [m.text for m in resumed.session.messages] == [m.text for m in run.session.messages]
    assert resumed.session.state == run.session.state and resumed.session.clock == run.session.clock
    assert resumed.session.scenario == run.session.scenario and resumed.session.seed == 3
    assert [r.score for r in resumed.results] == [r.score for r in run.results]
    assert [r.customer.fix for r in resumed.results] == [r.customer.fix for r in run.results]
    b.reply(resumed, FIX, delay_s=20)
    assert resumed.session.outcome == "resolved"
    # The first process reads it as stored now, not its own stale copy.
    assert [m.text for m in a.run(run.session.id, user="ana").session.messages] == \
        [m.text for m in resumed.session.messages]
    (summary,) = a.sessions(agent="ana")
    assert summary.replies == 2 and summary.outcome == "resolved" and summary.resumable
    assert a.sessions(agent="ana", unfinished=True) == []


def test_a_stale_copy_cannot_overwrite_a_turn_another_process_stored(two_servers):
    a, b = two_servers
    run = a.start_run("late-parcel-chat", seed=3, agent="ana")
    a.reply(run, FIRST, delay_s=20)
    copy_a, copy_b = a.run(run.session.id), b.run(run.session.id)
    a.reply(copy_a, "Could you tell me the order number please?", delay_s=5)
    before = len(copy_b.session.messages)
    with pytest.raises(SessionMovedOn, match="another tab"):
        b.reply(copy_b, "A different reply sent at the same time.", delay_s=5)
    assert len(copy_b.session.messages) == before  # nothing half-applied
    fresh = b.run(run.session.id)
    assert fresh.session.messages[-2].text == "Could you tell me the order number please?"
    assert a.db.turn_count(run.session.id) == len(fresh.session.messages)


def test_sessions_are_private_and_unknown_ids_say_so(two_servers):
    a, b = two_servers
    run = a.start_run("late-parcel-chat", seed=3, agent="ana")
    a.reply(run, FIRST, delay_s=20)
    with pytest.raises(UnknownRunError):
        b.run(run.session.id, user="ben")  # another trainee's session reads as missing
    with pytest.raises(UnknownRunError, match="no practice session"):
        b.run("0" * 32, user="ana")
    unfinished = b.sessions(unfinished=True)
    assert [s.id for s in unfinished] == [run.session.id] and unfinished[0].as_dict()["finished"] is False


def test_a_session_stored_before_sessions_were_resumable_is_listed_not_continued(two_servers):
    from sqlalchemy import update

    from dojo.store.tables import PracticeSession

    a, b = two_servers
    run = a.start_run("late-parcel-chat", seed=3, agent="ana")
    a.reply(run, FIRST, delay_s=20)
    with a.db.session() as s:
        s.execute(update(PracticeSession).where(PracticeSession.id == run.session.id).values(scenario_json=None))
    with pytest.raises(UnknownRunError, match="can be read, not continued"):
        b.run(run.session.id, user="ana")
    with pytest.raises(UnknownRunError, match="no practice session") as other:  # to anyone else: missing
        b.run(run.session.id, user="ben")
    assert "continued" not in str(other.value)
    assert [s.resumable for s in b.sessions(agent="ana")] == [False]
