"""What the pages say, without a browser: how a conversation ended on the scorecard, the progress chart,
the reviewer's view of a stored reply, the progress of long work."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

import app
from dojo.progress import Estimate, Point, Progress
from scoring import scorecard as scorecards
from scoring.scorecard import satisfaction
from simulator.reporting import TextBar
from simulator.session import outcome_words
from ui import qa, views
from ui.common import CRITERION_TITLES, channel_words

DISMISSIVE = ("That's our policy, there's nothing I can do.", "Please check the website.",
              "You'll have to wait like everyone else.", "I can't help with that.", "Noted.", "Okay.", "No.", "Bye.")


@pytest.mark.parametrize("outcome, worst_csat, moods", [
    ("abandoned", 1, {"frustrated", "angry"}),
    ("escalated", 1, {"angry"}),
    ("max_turns", 2, {"annoyed", "frustrated", "angry"}),
])
def test_an_unresolved_ending_is_never_5_of_5_or_calm_however_calm_the_customer_was(outcome, worst_csat, moods):
    csat, mood = satisfaction(0.0, outcome)
    assert csat <= worst_csat and mood in moods


def test_a_resolution_is_rewarded_and_frustration_still_counts():
    assert satisfaction(0.0, "resolved") == (5, "calm")
    assert satisfaction(0.9, "resolved")[0] == 2
    assert satisfaction(0.0, None)[0] == 4  # in progress: not yet a 5


def test_outcomes_are_said_in_words():
    assert outcome_words("max_turns") == "ran out of turns, not resolved"
    assert outcome_words("abandoned").startswith("abandoned: the customer gave up")
    assert outcome_words(None) == "in progress" and outcome_words("resolved") == "resolved"


def test_a_session_that_ran_out_of_turns_reads_so_on_the_scorecard(fast_services):
    run = fast_services.start_run("late-parcel-chat", seed=3)
    for text in DISMISSIVE:
        if run.session.ended:
            break
        fast_services.reply(run, text, delay_s=5)
    assert run.session.ended and run.session.outcome != "resolved"
    card = scorecards.build(run)
    shown = app.render_scorecard(run)
    assert card.csat <= 2 and card.final_mood != "calm"
    assert "max_turns" not in shown and outcome_words(run.session.outcome) in shown
    assert "Simulated CSAT | 5 / 5" not in shown and "| Customer's final mood | calm |" not in shown
    view = views.conversation_html(run)
    assert f"Conversation ended: {outcome_words(run.session.outcome)}" in view


def _progress(n: int) -> Progress:
    report = Progress("ana", sessions=n, replies=2 * n)
    for i in range(n):
        e = Estimate(1 + i, 2)
        report.history.append(Point(f"s{i}", "late-parcel-chat", "live_chat", datetime(2026, 11, 20 + i, tzinfo=UTC),
                                    {c: e.mean for c in CRITERION_TITLES}, {c: e.interval for c in CRITERION_TITLES}))
    report.criteria = {c: Estimate(n, 2, 2 * n) for c in CRITERION_TITLES}
    report.by_channel = {"live_chat": {c: Estimate(n, 2, 2 * n) for c in CRITERION_TITLES}}
    return report


def test_the_progress_chart_has_a_line_and_an_interval_band_per_criterion_and_readable_axes():
    svg = views.progress_svg(_progress(3), CRITERION_TITLES)
    assert svg.count('<polyline class="dojo-line"') == 4 and svg.count('<polygon class="dojo-band"') == 4
    for label in ("#1", "#2", "#3", "20 Nov", "22 Nov", "0%", "50%", "100%", "Empathy", "Follow-up", "90% interval"):
        assert label in svg
    assert not re.search(r">\d\.\d<", svg)  # no fractional session numbers on the axis ("1.0, 1.2 ...")
    one = views.progress_svg(_progress(1), CRITERION_TITLES)  # one session: still a band and a point
    assert one.count('<polygon class="dojo-band"') == 4 and "<circle" in one
    assert "No scored session yet" in views.progress_svg(Progress("new"), CRITERION_TITLES)


def test_progress_names_channels_and_scenarios_in_words(fast_services):
    text = app.render_progress(_progress(2), fast_services.library)
    assert "live_chat" not in text and "Live chat" in text
    assert "late-parcel-chat" not in text and fast_services.library.scenarios["late-parcel-chat"].title in text
    assert channel_words("social_public") == "Public social post" and channel_words("odd_one") == "odd one"


def test_a_reviewer_reads_the_whole_conversation_and_the_record_beside_the_reply(fast_services):
    from tests.conftest import with_database

    services = with_database(fast_services, "sqlite://")
    run = services.start_run("late-parcel-chat", agent="ana", seed=3)
    services.reply(run, "So sorry! Could you give me the order number?", delay_s=5)
    services.reply(run, "Thanks.\nI've reshipped it by express; it arrives tomorrow.", delay_s=5)
    stored = services.db.recent_replies()
    first = min(stored, key=lambda t: t.id)
    text, record = qa.render_context(services, first.id, "1 of 2")
    assert "**The reply under review:**" in text and "> So sorry! Could you give me the order number?" in text
    assert "The whole conversation** (5 messages)" in text
    assert "(after the reply under review)" in text and "> I've reshipped it by express" in text  # line kept
    assert "Priya Raman" in record and "Orders and accounts" in record


def test_the_split_decision_table_keeps_a_multi_line_reply_on_one_row():
    from dojo.calibration import RoundReport, Split

    report = RoundReport(["rita", "tess"], [7])
    report.splits.append(Split(7, "solution", {"rita": 1, "tess": 0}))
    text = qa.render_report(report, {7: "Dear Grace,\n\nWe refunded you.\n\nKind regards"}, {7: {"rita": "a\nb"}})
    row = next(line for line in text.splitlines() if line.startswith("| 7 |"))
    assert "Dear Grace, We refunded you. Kind regards" in row and row.endswith("| rita: a b |")


def test_a_text_bar_draws_in_place_on_a_terminal_and_one_line_per_step_in_a_log():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        bar = TextBar("train", stream)
        bar(0.0, "embedding")
        bar(0.2, "embedding")
        bar(0.5, "fitting empathy")
        bar(1.0, "trained")
        bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and "[------------------------]   0%" in lines[0] and "100%" in lines[-1]
    assert "trained" in lines[-1] and "fitting empathy" in lines[1]
    assert tty.getvalue().count("\r") == 4 and tty.getvalue().endswith("\n")


def test_training_reports_each_step(fast_services):
    from scoring import classifier

    heard = []
    rows = fast_services.training_rows()
    classifier.fit(rows, fast_services.embedder.embed_with_sentences, fast_services.rubric, "hashing",
                   report=lambda f, what: heard.append((f, what)))
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("embedding the train replies" in w for _, w in heard)
    assert any("follow-up (4 of 4)" in w for _, w in heard)


def test_retraining_takes_its_own_queue_slot_not_one_practice_needs(fast_services):
    """Practice events share the default slots (DOJO_QUEUE_CONCURRENCY); retraining and tuning wait for each
    other in a group of their own, so a lead's minutes of training never hold a trainee's reply."""
    demo = app.build_app(fast_services)
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    assert fns["retrain"].concurrency_id == fns["tune_thresholds"].concurrency_id == "models"
    assert fns["retrain"].concurrency_limit == 1
    assert all(fns[name].concurrency_id != "models" for name in ("start", "reply", "review_save", "progress"))
