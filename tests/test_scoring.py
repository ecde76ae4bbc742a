"""Scoring: every criterion comes with probability, verdict, evidence and tip; channel rules explain."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert score.model_version.startswith(f"r{fast_services.rubric.version}-")


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
    rule = next(v for v in channel_rules.check("Hi!", scenario, response_s=95) if v.rule == "response_time")
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
    from dojo.services import Services
    from scoring.classifier import RECIPE
    from simulator.settings import Settings

    services = Services(Settings(home=tmp_path, customer_backend="scripted"), embedder_kind="hashing")
    for version in ("r1-50ba5f2ca7", f"r1-{RECIPE}-50ba5f2ca7"):
        (services.scorers_dir / version).mkdir(parents=True)
        (services.scorers_dir / version / "model.joblib").write_bytes(b"")
    (services.scorers_dir / "ACTIVE").write_text("r1-50ba5f2ca7")  # made before recipes were named
    assert not services.has_scorer()
    (services.scorers_dir / "ACTIVE").write_text(f"r1-{RECIPE}-50ba5f2ca7")
    assert services.has_scorer()


def test_a_deleted_active_scorer_counts_as_missing_and_training_replaces_it(fast_services, tmp_path):
    """ACTIVE naming a version whose folder was deleted: set-up retrains, and `dojo train` activates the new
    version (it used to keep the dead name and fail on it with "run `dojo train`")."""
    import shutil

    from dojo.services import Services
    from scoring import classifier
    from simulator.settings import Settings

    services = Services(Settings(home=tmp_path, customer_backend="scripted"), embedder_kind="hashing")
    services.__dict__["embedder"] = fast_services.embedder
    first = services.train()
    shutil.rmtree(services.scorers_dir / first.version)
    assert (services.scorers_dir / "ACTIVE").read_text() == first.version
    assert not services.has_scorer() and classifier.active_version(services.scorers_dir) is None
    again = services.train(activate=False)  # `dojo train` without --activate
    assert classifier.active_version(services.scorers_dir) == again.version and services.scorer.version == again.version


def test_personal_data_written_out_in_public_is_flagged_with_what_was_written():
    def public_rule(reply: str):
        return next(v for v in channel_rules.check_reply(reply, "social_public")
                    if v.rule == "no_personal_data_in_public")

    rule = public_rule("Sorry! We've sent the refund link to jana.k@example.com.")
    assert not rule.passed and rule.evidence == "jana.k@example.com"
    assert rule.message.startswith("Wrote out email address on a public channel")
    for fine in ("Email claims@example.com with the photos.", "Call us free on 0800 123 456.",
                 "Your parcel is out for delivery.", "Sorry, we've refunded the £42.50."):
        assert public_rule(fine).passed, fine
    # The same sentence in a DM breaks no rule.
    assert all(v.passed for v in channel_rules.check_reply("We've sent the refund link to jana.k@example.com.",
                                                          "social_dm"))


def test_asking_again_for_what_the_bot_collected_cites_the_sentence():
    scenario = load_scenario(ROOT / "scenarios" / "bot-handoff-damaged.yaml")
    verdicts = channel_rules.check("Sorry about the jug! Could you give me your order number?", scenario, 20)
    rule = next(v for v in verdicts if v.rule == "no_reasking_bot_data")
    assert not rule.passed and rule.evidence == "Could you give me your order number?"
    verdicts = channel_rules.check("Sorry about the jug! Would you like a replacement or a refund?", scenario, 20)
    assert next(v for v in verdicts if v.rule == "no_reasking_bot_data").passed


def test_every_rule_verdict_carries_evidence_when_it_fails():
    scenario = public_scenario()
    verdicts = channel_rules.check("Reply with your account number please.", scenario, response_s=4 * 3600)
    failed = [v for v in verdicts if not v.passed]
    assert {v.rule for v in failed} == {"response_time", "no_personal_data_in_public"}
    for v in failed:
        assert v.evidence and v.message


def test_each_criterion_is_a_scikit_learn_pipeline_sharing_one_feature_step(fast_services):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

    models = fast_services.scorer.model.models
    steps = {id(m.pipeline[0]) for m in models.values()}
    assert len(steps) == 1
    for m in models.values():
        assert isinstance(m.pipeline, Pipeline) and isinstance(m.pipeline[-1], CalibratedClassifierCV)
        assert [name for name, _ in m.pipeline[0].transformer_list] == ["minilm", "words", "cues"]


def test_the_fused_heads_equal_the_pipelines(fast_services):
    import numpy as np

    from scoring.classifier import Texts

    scorer = fast_services.scorer
    texts = ["ok", "I'm so sorry, that's our fault. I've refunded the £20 and I'll email you tomorrow.",
             "Please contact support.", "That sounds really stressful."]
    batch = Texts(texts, scorer.embedder.embed(texts))
    fused = scorer.model.probabilities(batch)
    for c, m in scorer.model.models.items():
        assert np.allclose(fused[c], m.pipeline.predict_proba(batch)[:, 1], atol=1e-9, rtol=0)


def test_solution_is_judged_on_the_whole_reply_the_others_on_their_best_sentence_too(fast_services):
    import numpy as np

    from scoring.classifier import RECIPE, Texts, sentence_max

    assert sentence_max(RECIPE) == {"empathy", "ownership", "follow_up"}
    assert sentence_max("s5") == {"empathy", "ownership", "solution", "follow_up"}  # older recipes: all four
    scorer = fast_services.scorer
    reply = "That sounds stressful. Let me check. I've refunded the £20, and I'll email you tomorrow with the update."
    embedded = scorer.embedder.embed_with_sentences([reply])
    whole = scorer.model.probabilities(Texts([reply], embedded.replies))
    parts = scorer.model.probabilities(Texts(embedded.sentence_texts, embedded.sentences))
    score = scorer(reply)
    for c, m in scorer.model.models.items():
        raw = max(whole[c][0], parts[c].max()) if c != "solution" else whole[c][0]
        assert m.sentences == (c != "solution")
        assert np.isclose(score.criteria[c].probability, m.calibration(np.array([raw]))[0], atol=1e-6), c


def test_reply_calibration_is_monotonic_and_stays_in_range():
    import numpy as np

    from scoring.classifier import ReplyCalibration

    raw = np.linspace(0, 1, 101)
    y = (raw > 0.6).astype(int)
    p = ReplyCalibration.fit(raw, y)(raw)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1
    assert p[10] < 0.1 and p[90] > 0.9


def test_sentence_spans_are_offsets_into_the_text():
    from simulator.reply_acts import sentence_spans, sentences

    text = "  Hi Ana.  Sorry!\n\nI've refunded you. OK?  "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == sentences(text) == ["Hi Ana.", "Sorry!", "I've refunded you.", "OK?"]
    assert sentence_spans("") == [] and sentence_spans("no stop") == [(0, 7)]


def test_the_model_card_states_sizes_and_test_metrics(fast_services):
    from scoring.classifier import card_markdown

    card = fast_services.scorer.model.card
    md = card_markdown(card)
    assert card["data"]["test"] >= 200 and set(card["test_metrics"]) == {"empathy", "ownership", "solution",
                                                                         "follow_up"}
    for c, m in card["test_metrics"].items():
        assert set(m) >= {"precision", "recall", "f1", "macro_f1", "ece", "kappa"}
        assert f"| {c} | {card['thresholds'][c]:.3f} | {m['precision']:.3f} |" in md
    card_files = {p.name for p in (fast_services.scorers_dir / fast_services.scorer.version).iterdir()}
    assert card_files == {"model.joblib", "card.json", "card.md"}


def test_the_scorecard_weighs_criteria_by_the_rubric_unless_the_scenario_says_otherwise(fast_services):
    from dataclasses import replace

    scenario = load_scenario(ROOT / "scenarios" / "late-parcel-chat.yaml")
    rubric = fast_services.rubric
    heavy = replace(rubric, criteria={**rubric.criteria, "solution": replace(rubric.criteria["solution"], weight=3.0)})
    practice = replace_scorer_rubric(fast_services, heavy)
    run = practice.start(replace(scenario, rubric_weights={}), seed=1)
    assert run.weights["solution"] == 3.0 and run.weights["empathy"] == rubric.criteria["empathy"].weight
    run = practice.start(replace(scenario, rubric_weights={"solution": 0.5}), seed=1)
    assert run.weights["solution"] == 0.5
    practice.reply(run, "I've reshipped it by express; it arrives tomorrow before noon.")
    assert scorecards.build(run).criteria["solution"].weight == 0.5


def replace_scorer_rubric(services, rubric):
    from dojo.practice import Practice
    from scoring.scorer import Scorer

    scorer = services.scorer
    return Practice(services.customer, Scorer(scorer.model, scorer.embedder, rubric))


@pytest.mark.parametrize(("text", "cue"), [
    # The guideline's own examples, each named by the cue for its move.
    ("Sorry to hear your order arrived damaged", "empathy:sorry_to_hear"),
    ("We understand how frustrating this must be", "empathy:understand_feel"),
    ("Oh no!", "empathy:oh_no"),
    ("That's not the experience we want for you", "empathy:not_experience"),
    ("We apologize for the delay", "ownership:apology"),
    ("That's on us", "ownership:our_fault"),
    ("I'll look into this", "ownership:i_will"),
    ("Let me check that for you", "ownership:let_me"),
    ("I've passed this to our engineers", "ownership:i_have_done"),
    ("Try restarting the app, then sign in again", "solution:steps"),
    ("Here's the article: https://help.example.com/reset", "solution:link"),
    ("let us know if that doesn't help", "follow_up:let_us_know"),
    ("reach back out if you need anything else", "follow_up:reach_out"),
    ("Please send us a DM with your order number", "follow_up:dm"),
    ("we'll keep you posted", "follow_up:update_promise"),
])
def test_each_move_the_guideline_names_has_a_cue(text, cue):
    from scoring.cues import NAMES, cue_matrix

    assert cue_matrix([text])[0, NAMES.index(cue)] == 1.0


def test_a_cue_is_a_feature_not_a_verdict():
    from scoring.cues import cue_matrix

    assert not cue_matrix(["Your order is in transit."]).any()
    assert cue_matrix(["We apologize for any inconvenience."]).sum() >= 1  # fires; the classifier weighs it


def test_thresholds_count_every_validation_source_once():
    """A big source must not set the threshold alone: with one source of 90 replies that wants 0.8 and two
    of 10 that want 0.3, pooling would pick 0.8; counting each source once picks a threshold near 0.3."""
    import numpy as np

    from scoring.classifier import best_threshold

    rng = np.random.default_rng(0)
    y_big = rng.integers(0, 2, 90)
    p_big = np.where(y_big == 1, 0.85, 0.75)
    y_small = np.tile([0, 1], 10)
    p_small = np.where(y_small == 1, 0.35, 0.2)
    y, p = np.r_[y_big, y_small], np.r_[p_big, p_small]
    groups = ["big"] * 90 + ["a"] * 10 + ["b"] * 10
    assert best_threshold(y, p) > 0.7
    assert best_threshold(y, p, groups) < 0.75


def test_sources_small_on_their_own_are_held_out_together():
    from scoring.evaluation import folds
    from scoring.rubric import LabeledReply

    labels = {"empathy": 0, "ownership": 1, "solution": 0, "follow_up": 0}
    rows = ([LabeledReply(f"a{i}", f"a{i}", labels, "star") for i in range(70)]
            + [LabeledReply(f"b{i}", f"b{i}", labels, "abcd") for i in range(20)]
            + [LabeledReply(f"c{i}", f"c{i}", labels, "harper-valley-bank") for i in range(10)]
            + [LabeledReply(f"d{i}", f"d{i}", labels, f"handwritten-v{1 + i % 2}") for i in range(80)])
    assert folds(rows) == {"star": ("star",), "handwritten": ("handwritten-v1", "handwritten-v2"),
                           "abcd + harper-valley-bank": ("abcd", "harper-valley-bank")}


def test_the_best_threshold_bound_is_the_best_kappa_over_every_threshold():
    """The benchmark's bound (could a better threshold fix a held-out source?) equals trying each one."""
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    from scoring.evaluation import best_threshold_kappa

    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(8, 60))
        y, p = rng.integers(0, 2, n), np.round(rng.random(n), 1)  # rounded: ties between scores
        expected = max(cohen_kappa_score(y, p >= t) for t in np.unique(p))
        assert abs(best_threshold_kappa(y, p) - expected) < 1e-9
    y = np.array([0, 0, 1, 1, 1])
    assert best_threshold_kappa(y, np.array([0.9, 0.8, 0.3, 0.2, 0.1])) == 0.0  # ranked backwards: none helps
    assert best_threshold_kappa(y, np.array([0.1, 0.2, 0.6, 0.7, 0.8])) == 1.0

ASKS_FOR_A_SECRET = [
    "please send me your password and the full card number",  # issue 16: passed every rule in a DM
    "What's your PIN?",
    "Could you confirm the one-time code we just sent you?",
    "Can I have the 3-digit code on the back of your card?",
    "We'll need your login details to look into this.",
    "To verify you, tell me your mother's maiden name.",
    "Just drop your password here and I'll sort it",
    "We need your password to check the account.",
    "Could I have the PIN for the card, please?",
    "I'll need you to confirm the verification code we texted.",
]
DOES_NOT = [
    "Never share your password with anyone, including us.",
    "We will never ask for your PIN.",
    "Please reset your password using the link below.",
    "Please send the last four digits of your card number.",
    "Enter the code we sent you in the app.",
    "Did you receive the verification code?",
    "If you forgot your password, tap Forgot password on the login screen.",
    # The company telling, not asking (each once flagged by the first version of the rule).
    "I have reset your password; check your email.",
    "We will send you a new PIN by post.",
    "I can confirm your card number was removed from the account.",
    "We need to reset your password first.",
    "You have a PIN reminder in the app.",
    "I have sent you a new verification code.",
]


@pytest.mark.parametrize("channel", ["email", "live_chat", "social_public", "social_dm", "bot_handoff"])
@pytest.mark.parametrize("reply", ASKS_FOR_A_SECRET)
def test_asking_for_a_secret_fails_a_rule_on_every_channel(reply, channel):
    rule = next(v for v in channel_rules.check_reply(reply, channel) if v.rule == "no_secrets_requested")
    assert not rule.passed and rule.evidence in reply and "no one at the company ever needs it" in rule.message


@pytest.mark.parametrize("reply", DOES_NOT)
def test_warning_about_a_secret_or_resetting_it_is_not_asking_for_it(reply):
    rule = next(v for v in channel_rules.check_reply(reply, "social_dm") if v.rule == "no_secrets_requested")
    assert rule.passed, rule.evidence


def test_the_secrets_rule_names_what_was_asked_for():
    rule = channel_rules.secrets_rule("Hi! Please send me your password and the full card number, thanks.")
    assert "password, full card number" in rule.message
    assert rule.evidence == "Please send me your password and the full card number, thanks."
