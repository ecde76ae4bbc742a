"""What the practice page draws: each channel's own conversation view, the scenario picker, the team heat map."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

import app
from dojo.practice import ReplyError
from dojo.progress import Estimate, Progress
from ui import views

SORRY = "I'm so sorry about this, that's on us. I've sorted it now and I'll confirm by tomorrow."


def played(services, scenario_id: str, *replies: tuple[str, float | None]):
    run = services.start_run(scenario_id, seed=3)
    for text, delay in replies:
        services.reply(run, text, delay_s=delay)
    return run


def test_an_email_is_a_thread_with_headers_subject_and_dates(fast_services):
    run = played(fast_services, "wrong-item-email", (SORRY, 3600))
    view = views.conversation_html(run)
    subject = run.session.scenario.subject
    assert view.count('<article class="dojo-msg dojo-email') == 3
    assert view.count(f"<b>Subject:</b> Re: {subject}") == 2  # the replies answer the opening's subject
    assert "<b>From:</b> You &lt;support&gt;" in view and "<b>To:</b> Support" in view
    # The opening was sent 4 h before the trainee opened it; the reply went out 1 h after that (5 h after).
    stamps = [datetime.fromisoformat(t) for t in re.findall(r'<time datetime="([^"]+)"', view)]
    assert (stamps[1] - stamps[0]).total_seconds() == 4 * 3600 + 3600
    assert "answered after 5 h" in view and "over the" not in view  # within the 24 h standard
    fresh = views.conversation_html(played(fast_services, "wrong-item-email"))
    assert "Waiting since it was sent: <b>4 h</b>" in fresh  # a simulated clock: no live timer
    assert 'class="dojo-timer-static"' in fresh and 'class="dojo-timer"' not in fresh


def test_live_chat_is_bubbles_with_a_live_timer_against_the_standard(fast_services):
    run = played(fast_services, "late-parcel-chat")
    view = views.conversation_html(run)
    assert view.count('class="dojo-bubble-row customer"') == 1
    timer = re.search(r'<div class="dojo-timer( dojo-late)?" data-waited="([\d.]+)" data-standard="60">', view)
    assert timer and timer.group(1) is None and float(timer.group(2)) < 60
    fast_services.reply(run, SORRY)
    view = views.conversation_html(run)
    assert 'class="dojo-bubble-row agent"' in view and "answered after" in view


def test_a_bot_hand_off_shows_the_bot_conversation_and_starts_late_when_the_customer_already_waited(fast_services):
    run = played(fast_services, "missed-engineer-bot")  # waited 90 s in the queue; the standard is 60 s
    view = views.conversation_html(run)
    assert "handed over by the self-service bot" in view and "Transferred to you" in view
    bot_lines = run.session.scenario.bot_transcript
    assert view.count('class="dojo-bubble-row bot dojo-earlier"') == sum(m["role"] == "bot" for m in bot_lines)
    assert '<div class="dojo-timer dojo-late" data-waited="9' in view


def test_a_public_post_warns_that_everyone_reads_it_and_counts_each_reply_against_the_limit(fast_services):
    reply = "So sorry, Grace. " + "We are looking into this now. " * 5
    run = played(fast_services, "angry-refund-public", (reply, 600))
    view = views.conversation_html(run)
    assert "everyone can read this thread" in view and "@gracew" in view
    assert f'<span class="dojo-len">{len(reply.strip())} / 280</span>' in view
    with pytest.raises(ReplyError, match="the reply is 316 characters; a public social post reply is at most 280"):
        fast_services.reply(run, "So sorry, Grace. " + "We are looking into this now. " * 10)
    assert len(run.session.messages) == 3  # refused: nothing added
    assert 'class="dojo-msg dojo-post agent dojo-reply"' in view and "Replying to @gracew" in view
    fresh = views.conversation_html(played(fast_services, "angry-refund-public"))
    assert 'data-max="280" data-for="dojo-reply"' in fresh  # the live count of the reply being written


def test_a_dm_is_a_private_thread(fast_services):
    view = views.conversation_html(played(fast_services, "address-change-dm"))
    assert "<b>Direct message</b>" in view and "private" in view and "dojo-social_dm" in view


def test_nothing_the_trainee_or_scenario_writes_runs_as_html(fast_services):
    attack = '<img src=x onerror="alert(1)"> <script>alert(2)</script> & "quotes"'
    for scenario_id in ("wrong-item-email", "late-parcel-chat", "angry-refund-public", "address-change-dm"):
        view = views.conversation_html(played(fast_services, scenario_id, (attack, 60)))
        assert "<img" not in view and "<script" not in view
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in view


def test_an_ended_session_says_so_and_stops_the_timer(fast_services):
    run = played(fast_services, "late-parcel-chat")
    while not run.session.ended:
        fast_services.reply(run, "ok")
    view = views.conversation_html(run)
    assert "Conversation ended" in view and "dojo-timer" not in view and "dojo-charcount" not in view


def test_the_transcript_gives_api_clients_who_said_what_and_when(fast_services):
    run = played(fast_services, "wrong-item-email", (SORRY, 7200))
    first, reply, answer = views.transcript(run)
    assert first["role"] == "customer" and first["at_s"] == 0 and "response_s" not in first
    assert reply["role"] == "agent" and reply["text"] == SORRY and reply["response_s"] == 4 * 3600 + 7200
    assert answer["at_s"] == reply["at_s"]


def test_social_handles_are_made_from_the_name():
    assert views.handle("Grace Whitfield") == "@gracew"
    assert views.handle("Zoë") == "@zoë" and views.handle("<b>") == "@b" and views.handle("!!") == "@customer"


def test_the_picker_filters_by_channel_and_level_and_puts_the_recommendation_first(fast_services):
    every = app.scenario_choices(fast_services)
    assert len(every) == len(list(fast_services.library))
    emails = app.scenario_choices(fast_services, channel="email")
    assert emails and all(label.startswith("Email · ") for label, _ in emails)
    hard_chats = app.scenario_choices(fast_services, channel="live_chat", level="3")
    assert hard_chats and all(" · level 3 · " in label for label, _ in hard_chats)
    assert app.scenario_choices(fast_services, channel="social_public", level="1") == [
        (label, sid) for label, sid in every if label.startswith("Public social post · level 1")]
    ranked = app.scenario_choices(fast_services, recommended="locked-out-email")
    assert ranked[0] == ("Email · level 3 · " + fast_services.library.get("locked-out-email").title
                         + " · recommended for you", "locked-out-email")
    assert sorted(ranked, key=lambda c: c[1]) != ranked or len(ranked) == 1  # the rest keep their order


def test_the_team_heat_map_colours_each_agent_by_criterion():
    strong, weak = Progress("ana", sessions=3, replies=20), Progress("<b>ben</b>", sessions=1, replies=2)
    strong.criteria = {c: Estimate(18.0, 2.0, 18) for c in strong.criteria}
    weak.criteria = {c: Estimate(1.0, 3.0, 2) for c in weak.criteria}
    heat = views.heatmap_html([strong, weak], app.CRITERION_TITLES)
    assert heat.count('data-criterion="empathy"') == 2
    assert "hsl(108, 70%, 82%)" in heat  # 90 % -> green
    assert "hsl(30, 70%, 82%)" in heat and 'class="dojo-heat dojo-faded"' in heat  # 25 %, little evidence
    assert "&lt;b&gt;ben&lt;/b&gt;" in heat and "<b>ben" not in heat
    assert views.heatmap_html([], app.CRITERION_TITLES).startswith("<p>No agent")


@pytest.mark.parametrize("value, hue", [(0.0, 0), (0.5, 60), (1.0, 120), (1.7, 120)])
def test_heat_colour_runs_from_red_to_green(value, hue):
    assert f"hsl({hue}," in views._heat(value)


def test_feedback_says_what_the_fix_was_and_quotes_an_over_promise(fast_services):
    practice = fast_services.practice
    run = practice.start(fast_services.library.get("late-parcel-chat"), seed=1)
    practice.reply(run, "Could you tell me the order number?", delay_s=10)
    over = "I've refunded you £5000, it's done."
    text = app.render_feedback(practice.reply(run, over, delay_s=10))
    assert "**The fix**" in text and "Promised £5,000.00" in text and over in text
    good = app.render_feedback(practice.reply(
        run, "I'll reship your order by express now at no cost; it should be with you on Thursday.", delay_s=10))
    assert "Offered an accepted fix: express reship." in good
    assert "with faults" in app.render_scorecard(run)
