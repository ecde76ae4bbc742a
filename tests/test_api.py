"""The app's HTTP API, driven with gradio_client exactly as a script would."""

from __future__ import annotations

import pytest
from gradio_client import Client

from tests.conftest import served


@pytest.fixture(scope="module")
def client(fast_services):
    with served(fast_services) as url:
        yield Client(url, verbose=False)


def test_start_then_reply_returns_conversation_and_verdicts(client):
    run_id, record, view, transcript, _feedback, _card, _reply, articles, _pick, _delay, *_ = client.predict(
        "late-parcel-chat", api_name="/start")
    assert run_id and "Priya Raman" in record and "ORD-48213" in record
    assert "kb:delivery-delays" in articles  # the scenario's own article is shown first
    assert transcript[0]["role"] == "customer" and "parcel" in transcript[0]["text"].lower()
    assert transcript[0]["at_s"] == 0 and "dojo-live_chat" in view and 'class="dojo-timer' in view
    view, transcript, feedback, _card, reply = client.predict(
        run_id, "So sorry about this! Could you give me your order number?", 0, api_name="/reply")
    for title in ("Empathy", "Ownership", "Solution", "Follow-up"):
        assert title in feedback
    assert [m["role"] for m in transcript] == ["customer", "agent", "customer"] and reply == ""
    assert transcript[1]["response_s"] >= 0 and "order number?" in view


def test_unknown_session_is_a_clear_error(client):
    with pytest.raises(Exception, match="no practice session"):
        client.predict("nope", "hello", 0, api_name="/reply")


def test_empty_reply_is_refused(client):
    run_id, *_ = client.predict("late-parcel-chat", api_name="/start")
    with pytest.raises(Exception, match="the reply is empty"):
        client.predict(run_id, "   ", 0, api_name="/reply")


def test_email_reply_sent_on_the_simulated_clock_is_judged_late(client):
    run_id, *_ = client.predict("wrong-item-email", api_name="/start")
    view, transcript, feedback, _card, _reply = client.predict(
        run_id, "I'm sorry we sent the wrong size. Which size do you need?", 108000, api_name="/reply")
    assert "Warning" in feedback and "34 h" in feedback  # waited 4 h + sent 30 h later; the standard is 24 h
    assert transcript[1]["response_s"] == 4 * 3600 + 108000
    assert "answered after 34 h (over the 24 h standard)" in view  # the email thread marks the late reply


def test_a_knowledge_base_article_is_inserted_into_the_reply_as_a_citation(client):
    run_id = client.predict("late-parcel-chat", api_name="/start")[0]
    results, pick = client.predict(run_id, "delivery delay", api_name="/kb_search")
    assert "delivery-delays" in results and pick["value"] == "delivery-delays"
    text, note = client.predict("Here's what to expect:", "delivery-delays", api_name="/kb_insert")
    assert text == "Here's what to expect: kb:delivery-delays" and note == ""
    assert client.predict(text, "delivery-delays", api_name="/kb_insert")[0] == text  # not twice
    assert "pick an article first" in client.predict(text, None, api_name="/kb_insert")[1]  # said, text kept
