"""The app's HTTP API, driven with gradio_client exactly as a script would."""

from __future__ import annotations

import pytest
from gradio_client import Client

import app
from tests.conftest import free_port


@pytest.fixture(scope="module")
def client(fast_services):
    port = free_port()
    demo = app.main(fast_services, host="127.0.0.1", port=port, block=False)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def test_start_then_reply_returns_conversation_and_verdicts(client):
    run_id, record, conversation, _feedback, _card, _reply, articles, _pick, _delay = client.predict(
        "late-parcel-chat", api_name="/start")
    assert run_id and "Priya Raman" in record and "ORD-48213" in record
    assert "kb:delivery-delays" in articles  # the scenario's own article is shown first
    assert conversation[0]["role"] == "assistant" and "parcel" in str(conversation[0]["content"]).lower()
    conversation, feedback, _card, reply = client.predict(
        run_id, "So sorry about this! Could you give me your order number?", 0, api_name="/reply")
    for title in ("Empathy", "Ownership", "Solution", "Follow-up"):
        assert title in feedback
    assert len(conversation) == 3 and reply == ""


def test_unknown_session_is_a_clear_error(client):
    with pytest.raises(Exception, match="no practice session"):
        client.predict("nope", "hello", 0, api_name="/reply")


def test_empty_reply_is_refused(client):
    run_id, *_ = client.predict("late-parcel-chat", api_name="/start")
    with pytest.raises(Exception, match="the reply is empty"):
        client.predict(run_id, "   ", 0, api_name="/reply")


def test_email_reply_sent_on_the_simulated_clock_is_judged_late(client):
    run_id, *_ = client.predict("wrong-item-email", api_name="/start")
    _conversation, feedback, _card, _reply = client.predict(
        run_id, "I'm sorry we sent the wrong size. Which size do you need?", 108000, api_name="/reply")
    assert "Warning" in feedback and "34 h" in feedback  # waited 4 h + sent 30 h later; the standard is 24 h


def test_a_knowledge_base_article_is_inserted_into_the_reply_as_a_citation(client):
    run_id = client.predict("late-parcel-chat", api_name="/start")[0]
    results, pick = client.predict(run_id, "delivery delay", api_name="/kb_search")
    assert "delivery-delays" in results and pick["value"] == "delivery-delays"
    text = client.predict("Here's what to expect:", "delivery-delays", api_name="/kb_insert")
    assert text == "Here's what to expect: kb:delivery-delays"
    assert client.predict(text, "delivery-delays", api_name="/kb_insert") == text  # not twice
