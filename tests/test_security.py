"""Security over HTTP: every API event against every role (the table in the README), the login rate limit,
and passwords and session tokens never written to the logs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from dojo.access import PERMISSIONS, LoginLimiter
from tests.conftest import ROOT, free_port, served, with_database

PASSWORD = "correct horse battery"
ROLES = ("trainee", "reviewer", "trainer", "admin")

# Every API event: the permission it needs and harmless arguments (a refusal, or a quick error of its own).
EVENTS = {
    "/start": ("practice", ["late-parcel-chat"]),
    "/reply": ("practice", ["no-such-run", "hello", 0]),
    "/resume": ("practice", ["no-such-run"]),
    "/kb_search": ("practice", ["", "refund"]),
    "/kb_insert": ("practice", ["Hi", "delivery-delays"]),
    "/dispute": ("practice", ["no-such-run", "empathy", "why"]),
    "/progress": ("own_progress", [None]),
    "/review_next": ("review", [""]),
    "/review_skip": ("review", ["", ""]),
    "/review_save": ("review", ["", "met", "met", "met", "met", ""]),
    "/round_open": ("review", ["999"]),
    "/round_label": ("review", ["", 0, "met", "met", "met", "met", ""]),
    "/round_skip": ("review", ["", 0]),
    "/round_submit": ("review", [""]),
    "/round_create": ("lead_calibration", ["r", ["nobody"], ["999"]]),
    "/round_results": ("lead_calibration", ["999"]),
    "/consensus_save": ("lead_calibration", ["", "", "met", "met", "met", "met"]),
    "/retrain": ("lead_calibration", []),
    "/tune_thresholds": ("lead_calibration", []),
    "/accept_model": ("lead_calibration", ["no-such-version"]),
    "/activate_model": ("lead_calibration", ["no-such-version"]),
    "/open_scenario": ("edit_scenarios", ["late-parcel-chat.yaml"]),
    "/new_scenario": ("edit_scenarios", ["Bad Id!"]),
    "/check_scenario": ("edit_scenarios", ["x.yaml", "id: x"]),
    "/save_scenario": ("edit_scenarios", ["", "", "id: x"]),
    "/playtest": ("edit_scenarios", ["x.yaml", "id: x"]),
    "/playtest_reply": ("edit_scenarios", ["no-such-run", "hello"]),
}
REFUSALS = {"review": "Only reviewers, trainers and admins can review replies.",
            "lead_calibration": "Only trainers and admins can lead calibration rounds and retrain the classifiers.",
            "edit_scenarios": "Only trainers and admins can open, playtest or save scenario files."}


@pytest.fixture(scope="module")
def url(fast_services, new_database):
    services = with_database(fast_services, new_database())
    for role in ROLES:
        services.db.add_user(role, role, PASSWORD)
    with served(services) as address:
        yield address


def test_every_api_event_is_listed_here(url):
    api = Client(url, auth=("admin", PASSWORD), verbose=False).view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == set(EVENTS)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_events_its_permissions_allow(url, role):
    client = Client(url, auth=(role, PASSWORD), verbose=False)
    for event, (permission, args) in EVENTS.items():
        allowed = role in PERMISSIONS[permission]
        try:
            client.predict(*args, api_name=event)
            outcome = "ok"
        except AppError as exc:
            outcome = str(exc)
        refusal = REFUSALS.get(permission)
        if allowed:
            assert not refusal or refusal not in outcome, (role, event, outcome)
            assert "Log in first" not in outcome, (role, event)
        else:
            assert refusal and refusal in outcome, (role, event, outcome)


def test_another_agents_progress_is_refused_to_a_trainee_only(url):
    for role in ROLES:
        client = Client(url, auth=(role, PASSWORD), verbose=False)
        other = "admin" if role != "admin" else "trainee"
        if role == "trainee":
            with pytest.raises(AppError, match=r"You can see only your own progress\."):
                client.predict(other, api_name="/progress")
        else:
            assert f"### {other}:" in client.predict(other, api_name="/progress")[0]


def test_the_login_limiter_locks_a_name_after_repeated_failures_and_forgets_them_in_time():
    now = [0.0]
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.locked("ana")
        limiter.failed("ana")
    assert limiter.locked("ana") and not limiter.locked("ben")
    now[0] = 61.0
    assert not limiter.locked("ana")
    limiter.failed("ana")
    limiter.succeeded("ana")
    assert not limiter._failures.get("ana")


def login_status(url: str, name: str, password: str) -> int:
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}login", data=data), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_logins_are_rate_limited_over_http_even_with_the_right_password(fast_services, new_database):
    services = with_database(fast_services, new_database())
    services.db.add_user("ana", "trainee", PASSWORD)
    services.settings.__dict__.update(login_max_failures=3)  # the setting DOJO_LOGIN_MAX_FAILURES
    with served(services) as url:
        assert login_status(url, "ana", PASSWORD) == 200
        for _ in range(3):
            assert login_status(url, "ana", "wrong password") == 400
        assert login_status(url, "ana", PASSWORD) == 400  # locked: the right password does not get in
        assert login_status(url, "ben", "whatever pass") == 400


def test_passwords_and_session_tokens_never_reach_the_logs(tmp_path):
    """A real `dojo serve` with every logger at DEBUG: log in (right and wrong), practise, and look for the
    password and the session cookie in everything the server printed."""
    home = tmp_path / "home"
    env = {**os.environ, "DOJO_HOME": str(home), "DOJO_EMBEDDER": "hashing", "DOJO_CUSTOMER_BACKEND": "scripted",
           "DOJO_LOG_LEVEL": "DEBUG", "PYTHONUNBUFFERED": "1"}
    secret = "s3cret-horse-battery-staple"
    subprocess.run([sys.executable, "-m", "dojo", "users", "add", "ana", "--role", "trainee",
                    "--password-stdin"], input=secret + "\n", text=True, env=env, cwd=ROOT, check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "dojo", "train"], env=env, cwd=ROOT, check=True, timeout=300,
                   capture_output=True)
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "dojo", "serve", "--port", str(port)], env=env,
                                  cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        assert login_status(url, "ana", "wrong-" + secret) == 400
        client = Client(url, auth=("ana", secret), verbose=False)
        run_id = client.predict("late-parcel-chat", api_name="/start")[0]
        client.predict(run_id, "So sorry! I've refunded you.", 0, api_name="/reply")
        cookies = list(client.cookies.values())
        assert cookies  # the session token the login gave
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = log_path.read_text()
    assert "failed login for 'ana'" in logged  # the logging is on: the attempt is there, the password is not
    assert secret not in logged and "wrong-" + secret not in logged
    for token in cookies:
        assert token not in logged
    assert not re.search(r"access-token[^\n]*=\s*[A-Za-z0-9_-]{16,}", logged)


def test_ids_that_are_not_numbers_get_one_line_not_a_stack_trace(url):
    reviewer, lead = Client(url, auth=("reviewer", PASSWORD), verbose=False), Client(url, auth=("admin", PASSWORD),
                                                                                      verbose=False)
    with pytest.raises(AppError, match=r"round 'abc' is not a number"):
        reviewer.predict("abc", api_name="/round_open")
    with pytest.raises(AppError, match=r"reply '1; drop table' is not a number"):
        reviewer.predict("1; drop table", "met", "met", "met", "met", "", api_name="/review_save")
    with pytest.raises(AppError, match=r"reply id 'x' is not a number"):
        lead.predict("r", ["reviewer", "admin"], ["x"], api_name="/round_create")
    with pytest.raises(AppError, match=r"no calibration round 999"):
        lead.predict("999", api_name="/round_results")
