"""Roles are checked on the server for every event: through the page and through the HTTP API alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from dojo.access import Access, is_loopback
from dojo.store import Store, sqlite_url
from simulator.settings import SettingError
from tests.conftest import served, with_database

PASSWORD = "correct horse battery"
GOOD = ("I'm so sorry your parcel is late, that's our mistake. I've reshipped it by express at no charge; it "
        "arrives tomorrow before noon. I'll message you here once it's out for delivery.")


@pytest.fixture(scope="module")
def team(fast_services, new_database):
    services = with_database(fast_services, new_database())
    for name, role in (("ana", "trainee"), ("ben", "trainee"), ("rita", "reviewer"), ("tess", "trainer")):
        services.db.add_user(name, role, PASSWORD)
    with served(services) as url:
        yield services, url


def login(url: str, name: str) -> Client:
    return Client(url, auth=(name, PASSWORD), verbose=False)


def test_the_app_asks_for_a_login_once_someone_can_log_in(team):
    _, url = team
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain error on the login wall
        Client(url, verbose=False)
    with pytest.raises(Exception):  # noqa: B017
        Client(url, auth=("ana", "wrong password!"), verbose=False)


def test_a_trainee_practises_and_sees_only_their_own_progress(team):
    services, url = team
    ana = login(url, "ana")
    run_id = ana.predict("late-parcel-chat", api_name="/start")[0]
    ana.predict(run_id, GOOD, 0, api_name="/reply")
    summary, _plot, team_view, [csv_file] = ana.predict("ana", api_name="/progress")
    assert "ana: 1 session, 1 scored reply" in summary and "dojo-heatmap" not in str(team_view)
    header = Path(csv_file).read_text(encoding="utf-8").splitlines()[0]
    assert header == "session,scenario,channel,started_at,empathy,ownership,solution,follow_up"
    with pytest.raises(AppError, match=r"You can see only your own progress\."):
        ana.predict("ben", api_name="/progress")
    [row] = services.db.sessions_of(services.db.user("ana"))
    assert row.scenario_id == "late-parcel-chat"


def test_a_trainee_cannot_reach_trainer_functions_through_the_api(team):
    _, url = team
    ana = login(url, "ana")
    refusal = "Only trainers and admins can open, playtest or save scenario files."
    for call in (lambda: ana.predict("late-parcel-chat.yaml", api_name="/open_scenario"),
                 lambda: ana.predict("new-one", api_name="/new_scenario"),
                 lambda: ana.predict("late-parcel-chat.yaml", "id: x", api_name="/check_scenario"),
                 lambda: ana.predict("late-parcel-chat.yaml", "", "id: x", api_name="/save_scenario"),
                 lambda: ana.predict("late-parcel-chat.yaml", "id: x", api_name="/playtest")):
        with pytest.raises(AppError, match=re.escape(refusal)):
            call()


def test_nobody_can_reply_in_another_users_session(team):
    _, url = team
    ana, ben = login(url, "ana"), login(url, "ben")
    run_id = ana.predict("late-parcel-chat", api_name="/start")[0]
    with pytest.raises(AppError, match="no practice session"):
        ben.predict(run_id, "Hello, I'll take this one.", 0, api_name="/reply")


def test_trainers_see_the_team_and_open_scenarios(team):
    _, url = team
    ana = login(url, "ana")
    ana.predict(ana.predict("late-parcel-chat", api_name="/start")[0], GOOD, 0, api_name="/reply")
    tess = login(url, "tess")
    summary, _plot, heatmap, [_history, team_csv] = tess.predict("ana", api_name="/progress")
    assert "### ana:" in summary
    assert '<th scope="row">ana</th>' in heatmap["value"] and 'data-criterion="empathy"' in heatmap["value"]
    rows = Path(team_csv).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "agent,sessions,criterion,estimate,low,high,replies"
    assert sum(row.startswith("ana,") for row in rows) == 4  # one row per criterion
    opened = tess.predict("late-parcel-chat.yaml", api_name="/open_scenario")
    assert "id: late-parcel-chat" in opened[2]


def test_a_public_address_needs_accounts(tmp_path):
    db = Store(sqlite_url(tmp_path))
    db.upgrade()
    assert Access.for_server(db, "127.0.0.1").local
    with pytest.raises(SettingError, match=r"binding 0\.0\.0\.0 needs accounts"):
        Access.for_server(db, "0.0.0.0")
    db.add_user("ben", "trainee")  # recorded by `dojo play --agent`: no password, cannot log in
    with pytest.raises(SettingError):
        Access.for_server(db, "0.0.0.0")
    db.add_user("root", "admin", PASSWORD)
    assert not Access.for_server(db, "0.0.0.0").local and not Access.for_server(db, "127.0.0.1").local
    assert is_loopback("localhost") and is_loopback("::1") and not is_loopback("10.0.0.5")
    db.engine.dispose()


def test_reviewers_label_stored_replies_and_trainees_cannot(team):
    services, url = team
    ana = login(url, "ana")
    ana.predict(ana.predict("late-parcel-chat", api_name="/start")[0], GOOD, 0, api_name="/reply")
    refusal = "Only reviewers, trainers and admins can review replies."
    with pytest.raises(AppError, match=re.escape(refusal)):
        ana.predict("", api_name="/review_next")
    with pytest.raises(AppError, match=re.escape(refusal)):
        ana.predict("1", "met", "met", "met", "met", "", api_name="/review_save")
    lead_only = "Only trainers and admins can lead calibration rounds and retrain the classifiers."
    rita = login(url, "rita")
    for who in (ana, rita):  # neither a trainee nor a reviewer may lead a round or touch the models
        for call in (lambda c: c.predict("r", ["rita", "tess"], ["1"], api_name="/round_create"),
                     lambda c: c.predict("1", api_name="/round_results"),
                     lambda c: c.predict(api_name="/retrain"),
                     lambda c: c.predict("v", api_name="/accept_model")):
            with pytest.raises(AppError, match=re.escape(lead_only)):
                call(who)
    turn_id, shown, *radios, comment, record, _skipped = rita.predict("", api_name="/review_next")
    assert turn_id and "**The reply under review:**" in shown and radios == [None] * 4 and comment == ""
    # The whole conversation and the customer record, beside the reply.
    assert "The whole conversation" in shown and "the reply under review**" in shown and GOOD.split(".")[0] in shown
    assert "Priya Raman" in record and "Orders and accounts" in record
    assert "classifier" not in shown.lower()  # the verdict stays hidden until the labels are saved
    saved = rita.predict(turn_id, "met", "not met", "met", "n/a", "follow-up not needed here",
                         api_name="/review_save")
    assert f"Saved your labels for reply {turn_id}. The classifier said: Empathy " in saved
    reviews = services.db.reviews_of(int(turn_id))
    assert {r.criterion: r.label for r in reviews} == {"empathy": 1, "ownership": 0, "solution": 1, "follow_up": -1}
    assert {r.note for r in reviews} == {"follow-up not needed here"}
    with pytest.raises(AppError, match="Choose met, not met or n/a for Solution"):
        rita.predict(turn_id, "met", "met", None, "met", "", api_name="/review_save")
    assert rita.predict("", api_name="/review_next")[0] != turn_id  # the next one, not the same again


def test_a_trainee_disputes_a_verdict_and_it_goes_to_the_top_of_the_queue(team):
    services, url = team
    ana, ben, rita = login(url, "ana"), login(url, "ben"), login(url, "rita")
    run_id = ana.predict("late-parcel-chat", api_name="/start")[0]
    # Refusals are said in the status line beside the form (the comment stays in its box).
    assert "send a reply first" in ana.predict(run_id, "empathy", "I apologised!", api_name="/dispute")[0]
    ana.predict(run_id, "Sorry. Sending a new one.", 0, api_name="/reply")
    assert "say why you disagree" in ana.predict(run_id, "empathy", "  ", api_name="/dispute")[0]
    assert "no stored reply of yours" in ben.predict(run_id, "empathy", "not my session", api_name="/dispute")[0]
    assert not services.db.disputes_of(int(services.db.recent_replies()[0].id))
    status, comment = ana.predict(run_id, "empathy", "I did say sorry.", api_name="/dispute")
    assert "a reviewer will look at the empathy verdict" in status and comment == ""
    turn_id, shown, *_ = rita.predict("", api_name="/review_next")
    assert "**Disputed by the trainee** (Empathy): I did say sorry." in shown and "Sorry. Sending a new one." in shown
    # Skipped, it makes way for the next reply; the page remembers it was skipped.
    other, _shown, *_rest, passed = rita.predict(turn_id, "", api_name="/review_skip")
    assert other != turn_id and passed == turn_id
    assert rita.predict(passed, api_name="/review_next")[0] == other
    rita.predict(turn_id, "met", "not met", "met", "not met", "", api_name="/review_save")
    assert services.db.disputes_of(int(turn_id))[0].resolved_at is not None  # a review settles it
