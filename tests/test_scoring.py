"""Scoring: every criterion comes with probability, verdict, evidence and tip; channel rules explain."""

from __future__ import annotations

from pathlib import Path

from scoring import channel_rules
from scoring import scorecard as scorecards
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def test_every_score_carries_its_reason(fast_services):
    score = fast_services.scorer("I'm so sorry about the delay. I've reshipped it by express; it arrives tomorrow.")
    assert set(score.criteria) == {"empathy", "ownership", "solution", "follow_up"}
    for s in score.criteria.values():
        assert 0.0 <= s.probability <= 1.0 and s.reason
        assert (s.tip is None) == s.verdict
    assert score.model_version.startswith("r1-")


def test_met_verdict_cites_a_sentence_of_the_reply(fast_services):
    reply = "Hello. I've refunded the duplicate payment of £29.99 to your card; you'll see it within 3 working days."
    s = fast_services.scorer(reply).criteria["solution"]
    assert s.verdict and s.evidence in reply


def test_batch_scoring_matches_single(fast_services):
    replies = ["ok", "Sorry we got this wrong. I'll fix it today and update you by 5pm."]
    batch = fast_services.scorer.score_many(replies)
    for reply, b in zip(replies, batch, strict=True):
        assert abs(fast_services.scorer(reply).criteria["solution"].probability
                   - b.criteria["solution"].probability) < 1e-6


def public_scenario():
    base = load_scenario(ROOT / "scenarios" / "late-parcel-chat.yaml")
    from dataclasses import replace

    from simulator.channels import Channel
    return replace(base, channel=Channel.SOCIAL_PUBLIC)


def test_personal_data_asked_in_public_is_flagged_with_the_sentence():
    verdicts = channel_rules.check("So sorry! Please reply with your email address and phone number.",
                                   public_scenario(), response_s=600)
    rule = next(v for v in verdicts if v.rule == "no_personal_data_in_public")
    assert not rule.passed and "email address" in rule.message and "reply with your email" in rule.evidence


def test_taking_it_to_dm_is_fine_in_public():
    verdicts = channel_rules.check("So sorry! Send us a DM with your order number and email address.",
                                   public_scenario(), response_s=600)
    assert next(v for v in verdicts if v.rule == "no_personal_data_in_public").passed


def test_slow_live_chat_reply_breaks_the_response_standard():
    scenario = load_scenario(ROOT / "scenarios" / "late-parcel-chat.yaml")
    [rule] = channel_rules.check("Hi!", scenario, response_s=95)
    assert not rule.passed and "1 min" not in rule.message and "95 s" in rule.message and "60 s" in rule.message


def test_practice_run_ends_with_scorecard_and_kpis(fast_services):
    run = fast_services.start_run("late-parcel-chat", seed=3)
    result = fast_services.practice.reply(
        run, "I'm so sorry, that's our mistake. I've reshipped it by express at no charge; it arrives tomorrow "
             "before noon. I'll message you once it's out for delivery.")
    assert result.customer.text and run.session.messages[-1].role == "customer"
    card = scorecards.build(run)
    kpis = dict(card.kpi_rows())
    assert card.turns == 1 and card.first_response_s is not None
    assert set(kpis) >= {"First response time", "Resolution", "Simulated CSAT", "First contact resolution"}
    assert 1 <= card.csat <= 5


def test_a_scorer_from_an_older_training_recipe_counts_as_missing(tmp_path):
    from scoring.classifier import RECIPE
    from scoring.services import Services
    from simulator.settings import Settings

    services = Services(Settings(home=tmp_path, customer_backend="scripted"), embedder_kind="hashing")
    services.scorers_dir.mkdir(parents=True)
    (services.scorers_dir / "ACTIVE").write_text("r1-50ba5f2ca7")  # made before recipes were named
    assert not services.has_scorer()
    (services.scorers_dir / "ACTIVE").write_text(f"r1-{RECIPE}-50ba5f2ca7")
    assert services.has_scorer()
