"""`dojo play`: a whole session from a replies file, as text or one JSON document; bad input is one line, exit 2."""

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
    # The scripted customer and the hashing scorer already trained in the shared test home.
    return {**os.environ, "DOJO_HOME": str(fast_services.settings.home), "DOJO_CUSTOMER_BACKEND": "scripted",
            "DOJO_EMBEDDER": "hashing"}


def dojo(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dojo", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_plain_text_replies_play_to_resolution_as_json(env, tmp_path):
    replies = tmp_path / "replies.txt"
    replies.write_text("I'm so sorry about the wait! Could you give me the order number?\n\n"
                       "I'll reship your order by express now at no cost; it should be with you on Thursday. "
                       "I'll message you as soon as it's out for delivery.\n")
    done = dojo(env, "play", "late-parcel-chat", "--replies", str(replies), "--json", "--seed", "4", "--agent", "ana")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["scenario"] == "late-parcel-chat" and doc["agent"] == "ana" and doc["seed"] == 4
    assert doc["outcome"] == "resolved" and doc["final_mood"] in ("calm", "annoyed", "frustrated", "angry")
    roles = [t["role"] for t in doc["turns"]]
    assert roles == ["customer", "agent", "customer", "agent", "customer"]
    assert doc["turns"][2]["beat"] == "gives_order" and "ORD-48213" in doc["turns"][2]["text"]
    for t in doc["turns"]:
        assert {"role", "text"} <= set(t)
        if t["role"] == "customer":
            assert {"beat", "guard", "latency_ms", "mood"} <= set(t)
        else:
            assert set(t["scores"]) == {"empathy", "ownership", "solution", "follow_up"}


def test_jsonl_delays_are_judged_against_the_channel_standard(env, tmp_path):
    replies = tmp_path / "replies.jsonl"
    replies.write_text(json.dumps({"text": "Sorry for the wait, could you give me the order number?",
                                   "delay_seconds": 95}) + "\n")
    doc = json.loads(dojo(env, "play", "late-parcel-chat", "--replies", str(replies), "--json").stdout)
    agent = doc["turns"][1]
    assert agent["response_s"] == 95
    assert any(not r["passed"] and "60 s" in r["message"] for r in agent["rules"])
    assert doc["turns"][0]["answered_at_s"] == 95 and doc["ended"] is False and doc["outcome"] is None


def test_text_transcript_shows_beat_mood_guard_scores(env, tmp_path):
    replies = tmp_path / "replies.txt"
    replies.write_text("ok\nok\nok\nok\nok\nok\nok\nok\n")
    done = dojo(env, "play", "late-parcel-chat", "--replies", str(replies))
    assert done.returncode == 0
    assert "CUSTOMER [opening · annoyed · script" in done.stdout and "AGENT [after" in done.stdout
    assert "empathy=" in done.stdout and "outcome: " in done.stdout.splitlines()[-1]


@pytest.mark.parametrize("args, message", [
    (["play", "no-such-scenario", "--replies", "REPLIES"], "unknown scenario 'no-such-scenario'; known: "),
    (["play", "late-parcel-chat", "--replies", "MISSING"], "cannot read the replies file (No such file or directory)"),
    (["play", "late-parcel-chat", "--replies", "BADJSON"], "BADJSON:2: not valid JSON"),
    (["play", "late-parcel-chat", "--replies", "EMPTY"], "no replies in the file"),
])
def test_bad_input_is_one_line_and_exit_2(env, tmp_path, args, message):
    files = {"REPLIES": tmp_path / "r.txt", "MISSING": tmp_path / "missing.txt", "BADJSON": tmp_path / "bad.jsonl",
             "EMPTY": tmp_path / "empty.txt"}
    files["REPLIES"].write_text("hello\n")
    files["BADJSON"].write_text('{"text": "hi"}\n{"text": \n')
    files["EMPTY"].write_text("\n\n")
    args = [str(files[a]) if a in files else a for a in args]
    message = message.replace("BADJSON", str(files["BADJSON"]))
    done = dojo(env, *args)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("dojo: ") and message in line


def test_openai_backend_without_an_endpoint_is_one_line(env, tmp_path):
    replies = tmp_path / "r.txt"
    replies.write_text("hello\n")
    done = dojo({**env, "DOJO_OPENAI_BASE_URL": ""}, "play", "late-parcel-chat", "--replies", str(replies),
                 "--backend", "openai")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("dojo: the openai backend needs DOJO_OPENAI_BASE_URL "
                                   "(e.g. http://localhost:8000/v1)")


def test_difficulty_option_plays_the_same_scenario_with_an_uncooperative_customer(env, tmp_path):
    replies = tmp_path / "replies.jsonl"
    replies.write_text("\n".join(json.dumps({"text": text, "delay_seconds": delay}) for text, delay in (
        ("Hi, what can I help with?", 20), ("Okay, let me have a look.", 200), ("Please wait.", 30))) + "\n")

    def play(level: str) -> dict:
        done = dojo(env, "play", "late-parcel-chat", "--replies", str(replies), "--json", "--seed", "2",
                    "--difficulty", level)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    easy, hard = play("1"), play("3")
    assert easy["difficulty"] == 1 and easy["behaviours"] == []
    assert not any(t.get("behaviours") for t in easy["turns"])
    assert hard["difficulty"] == 3 and set(hard["behaviours"]) == {
        "incomplete_opening", "impatience", "off_topic", "manager", "threaten_public"}
    customer = [t for t in hard["turns"] if t["role"] == "customer"]
    assert customer[0]["behaviours"] == ["incomplete_opening"] and customer[1]["beat"] == "opening:rest"
    assert "impatience" in customer[2]["behaviours"]  # the trainee took 200 s on a live chat
    assert [t["text"] for t in play("3")["turns"]] == [t["text"] for t in hard["turns"]]  # same seed, same session
    bad = dojo(env, "play", "late-parcel-chat", "--replies", str(replies), "--difficulty", "4")
    assert bad.returncode == 2 and "invalid choice: 4" in bad.stderr


def test_a_recorded_session_that_ran_out_of_replies_is_resumed_from_the_command_line(env, tmp_path):
    first, rest = tmp_path / "first.txt", tmp_path / "rest.txt"
    first.write_text("I'm so sorry about the wait! Could you give me the order number?\n")
    rest.write_text("I'll reship your order by express now at no cost; it should be with you on Thursday. "
                    "I'll message you as soon as it's out for delivery.\n")
    started = json.loads(dojo(env, "play", "late-parcel-chat", "--replies", str(first), "--json", "--seed", "4",
                              "--agent", "resumer").stdout)
    session_id = started["session_id"]
    assert session_id and started["ended"] is False
    listed = json.loads(dojo(env, "sessions", "list", "--agent", "resumer", "--unfinished", "--json").stdout)
    assert [s["id"] for s in listed] == [session_id] and listed[0]["replies"] == 1
    assert session_id in dojo(env, "sessions", "list", "--agent", "resumer").stdout
    done = dojo(env, "play", "--resume", session_id, "--replies", str(rest), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["session_id"] == session_id and doc["agent"] == "resumer" and doc["outcome"] == "resolved"
    assert [t["text"] for t in doc["turns"][:3]] == [t["text"] for t in started["turns"]]  # the earlier turns too
    assert len(doc["turns"]) == 5 and doc["seed"] == 4
    assert json.loads(dojo(env, "sessions", "list", "--agent", "resumer", "--unfinished", "--json").stdout) == []
    again = dojo(env, "play", "--resume", session_id, "--replies", str(rest))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "has ended (resolved)" in again.stderr
    missing = dojo(env, "play", "--resume", "f" * 32, "--replies", str(rest))
    assert missing.returncode == 2 and "no practice session" in missing.stderr
    both = dojo(env, "play", "late-parcel-chat", "--resume", session_id, "--replies", str(rest))
    assert both.returncode == 2 and "or --resume" in both.stderr
