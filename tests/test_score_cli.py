"""`dojo score`: one output line per input line in order; a bad line is reported and the rest go on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def env(fast_services) -> dict[str, str]:
    return {**os.environ, "DOJO_HOME": str(fast_services.settings.home), "DOJO_EMBEDDER": "hashing"}


def dojo(env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dojo", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, input=stdin)


def test_scores_every_line_in_order_and_reports_bad_lines(env, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([
        json.dumps({"id": "r1", "text": "I'm sorry for the wait. I've refunded you today.", "channel": "email"}),
        "{not json",
        json.dumps({"id": "r2"}),
        json.dumps({"id": "r3", "text": "Thanks!", "context": "Great service", "channel": "social_public"}),
        json.dumps({"id": "r4", "text": "hi", "channel": "fax"}),
    ]) + "\n")
    out = tmp_path / "out.jsonl"
    done = dojo(env, "score", str(source), "-o", str(out))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"{source}:2: not valid JSON (Expecting property name enclosed in double quotes)",
        f"{source}:3: text: needs a non-empty string (id 'r2')",
        f"{source}:5: channel: 'fax' is not one of email, live_chat, social_public, social_dm, bot_handoff (id 'r4')",
    ]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("id") or r["line"] for r in rows] == ["r1", 2, 3, "r3", 5]
    first = rows[0]
    assert set(first) == {"id", "scores", "verdicts", "evidence", "model_version", "rules"}
    # an email with no response time: only the rule every channel has
    assert [r["rule"] for r in first["rules"]] == ["no_secrets_requested"]
    assert [r["rule"] for r in rows[3]["rules"]] == ["no_secrets_requested", "no_personal_data_in_public"]
    assert set(first["scores"]) == {"empathy", "ownership", "solution", "follow_up"}
    assert all(0.0 <= p <= 1.0 for p in first["scores"].values())
    assert all(isinstance(v, bool) for v in first["verdicts"].values())


def test_reads_stdin_and_writes_stdout(env):
    done = dojo(env, "score", "-", stdin=json.dumps({"id": "x", "text": "Let me check that for you."}) + "\n")
    assert done.returncode == 0
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["id"] == "x" and row["model_version"]


def test_unreadable_input_is_one_line_exit_2(env, tmp_path):
    done = dojo(env, "score", str(tmp_path / "missing.jsonl"))
    missing = tmp_path / "missing.jsonl"
    assert done.returncode == 2
    assert done.stderr.strip() == f"dojo: {missing}: cannot read (No such file or directory)"


def test_unwritable_output_is_one_line_exit_2(env, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "x", "text": "hello"}) + "\n")
    target = tmp_path / "no-such-folder" / "out.jsonl"
    done = dojo(env, "score", str(source), "-o", str(target))
    assert done.returncode == 2 and done.stderr.strip() == f"dojo: {target}: cannot write (No such file or directory)"


def test_channel_rules_come_with_their_evidence(env):
    lines = [
        {"id": "pd", "text": "Sorry! Please reply with your email address and we'll check.",
         "channel": "social_public"},
        {"id": "slow", "text": "Sorry for the wait, I've refunded you.", "channel": "live_chat",
         "response_seconds": 300},
        {"id": "plain", "text": "Sorry for the wait, I've refunded you."},
    ]
    done = dojo(env, "score", "-", stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert done.returncode == 0, done.stderr
    pd, slow, plain = (json.loads(line) for line in done.stdout.splitlines())
    secrets, rule = pd["rules"]
    assert secrets["rule"] == "no_secrets_requested" and secrets["passed"]
    assert rule == {"rule": "no_personal_data_in_public", "passed": False,
                    "message": "Asked for email address on a public channel: move to a DM first.",
                    "evidence": "Please reply with your email address and we'll check."}
    rule, secrets = slow["rules"]
    assert rule["rule"] == "response_time" and not rule["passed"] and rule["evidence"] == "5 min (standard 60 s)"
    assert secrets["rule"] == "no_secrets_requested" and secrets["passed"]
    assert "rules" not in plain


@pytest.mark.parametrize(("item", "error"), [
    ({"id": "a", "text": "hi", "response_seconds": 5},
     "response_seconds: needs a channel to judge it against (id 'a')"),
    ({"id": "a", "text": "hi", "channel": "email", "response_seconds": "5"},
     "response_seconds: '5' is not a number of seconds >= 0 (id 'a')"),
    ({"id": "a", "text": "hi", "channel": "email", "response_seconds": -1},
     "response_seconds: -1 is not a number of seconds >= 0 (id 'a')"),
])
def test_a_bad_response_time_is_an_error_line(env, item, error):
    done = dojo(env, "score", "-", stdin=json.dumps(item) + "\n")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"line": 1, "error": error}
    assert done.stderr.strip() == f"-:1: {error}"
