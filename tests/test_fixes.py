"""The right fix, in the scenario: accepted resolutions, policy limits, wrong answers and wrong facts, and a
customer who answers what they are asked. Scripted customer + hashing embedder (the logic); the real models'
matching by meaning is in tests/test_real_models.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dojo.practice import Practice
from scoring import scorecard as scorecards
from scoring.channel_rules import check_reply, public_data_rule, secret_requests
from simulator.fixes import dates_in, over_promises
from simulator.scenario import ScenarioError, load_scenario, parse_scenario
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"
ORDER = "Could you tell me the order number?"
RESHIP = "I'll reship your order by express now at no cost; it should be with you on Thursday."


@pytest.fixture(scope="module")
def practice(fast_services) -> Practice:
    return fast_services.practice


@pytest.fixture(scope="module")
def parcel():
    """late-parcel as a plain writer: these tests read what the customer says, word for word."""
    scenario = load_scenario(SCENARIOS / "late-parcel-chat.yaml")
    return replace(scenario, persona=replace(scenario.persona, style=(), behaviours=()))


def play(practice, scenario, *replies, seed=3):
    run = practice.start(scenario, seed=seed)
    results = [practice.reply(run, r, delay_s=20) for r in replies]
    return run, results


def test_the_accepted_fix_resolves_clean_once_the_order_is_found(practice, parcel):
    run, results = play(practice, parcel, f"I'm so sorry about the wait. {ORDER}", RESHIP)
    assert results[0].customer.fix.offered is None and run.session.messages[2].beat == "gives_order"
    assert results[1].customer.fix.resolution == "express_reship"
    card = scorecards.build(run)
    assert run.session.outcome == "resolved" and card.clean and card.faults == ()
    assert run.session.state.resolution == "express_reship"


def test_the_fix_before_the_order_is_identified_does_not_resolve(practice, parcel):
    run, results = play(practice, parcel, RESHIP)
    fix = results[0].customer.fix
    assert fix.offered == "express_reship" and fix.resolution is None and fix.missing == ("fact:order_number",)
    assert run.session.outcome != "resolved"


def test_a_confident_promise_beyond_policy_is_flagged_with_its_evidence_and_is_never_clean(practice, parcel):
    reply = "I've refunded you £5000 and sent you a free car, it arrives tomorrow."
    run, results = play(practice, parcel, ORDER, reply)
    flags = results[1].customer.fix.flags
    over = [f for f in flags if f.kind == "over_promise"]
    assert over and "£5,000.00" in over[0].message and "£42.00" in over[0].message
    assert over[0].evidence == reply
    rule = next(r for r in results[1].rules if r.rule == "within_policy")
    assert not rule.passed and rule.evidence == reply
    assert not results[1].score.criteria["solution"].verdict  # an offer beyond policy is no solution
    card = scorecards.build(run)
    assert not card.clean and any(f.kind == "over_promise" and f.reply == 2 for f in card.faults)


def test_a_delivery_date_before_the_earliest_is_an_over_promise(parcel):
    flags = over_promises(["Good news, I've sent a new one by express and it will arrive tomorrow."], parcel)
    assert flags and "Thursday 26 November" in flags[0].message and "Wednesday 25 November" in flags[0].message
    assert not over_promises(["I've sent a new one today by express, it will be with you on Friday."], parcel)
    assert not over_promises(["It was due on Monday, I'm sorry."], parcel)


def test_dates_are_read_from_the_scenario_day(parcel):
    from datetime import date
    today = date(2026, 11, 24)  # a Tuesday
    assert dates_in("by Saturday", today) == [date(2026, 11, 28)]
    assert dates_in("tomorrow", today) == [date(2026, 11, 25)]
    assert dates_in("on 27 November", today) == [date(2026, 11, 27)]
    assert dates_in("in two days", today) == [date(2026, 11, 26)]


def test_a_wrong_answer_is_flagged_does_not_resolve_and_the_customer_reacts(practice, parcel):
    wrong = parcel.wrong_answers[0]
    run, results = play(practice, parcel, ORDER, wrong.examples[0])
    fix = results[1].customer.fix
    assert fix.wrong == wrong.id and any(f.kind == "wrong_fix" for f in fix.flags)
    assert run.session.messages[-1].text.startswith(wrong.customer_says[:30])
    assert run.session.outcome != "resolved"
    assert not scorecards.build(run).clean


def test_a_wrong_order_number_is_corrected_by_the_customer_and_counted(practice, parcel):
    run, results = play(practice, parcel, "I can see your order ORD-48231 here, I'm checking it now.")
    fix = results[0].customer.fix
    assert [f.kind for f in fix.flags] == ["wrong_fact"] and "ORD-48213" in fix.flags[0].message
    assert "ORD-48213" in run.session.messages[-1].text
    assert any(f.kind == "wrong_fact" for f in scorecards.build(run).faults)


def test_the_customer_answers_a_question_about_themselves_without_losing_patience(practice, parcel):
    run, results = play(practice, parcel, "Thanks. And what's the delivery postcode?")
    reply = run.session.messages[-1].text
    assert "LS6 2AB" in reply and "doesn't really help" not in reply
    assert run.session.state.strikes == 0 and results[0].customer.answers[0].topic == "postcode"


def test_a_question_they_cannot_answer_gets_an_in_character_no_idea_and_no_strike(practice, parcel):
    run, results = play(practice, parcel, "Which depot scanner did your courier use last?")
    answers = results[0].customer.answers
    assert [a.topic for a in answers] == ["unknown"]
    assert answers[0].says in run.session.messages[-1].text and run.session.state.strikes == 0


def test_asking_where_they_live_does_not_make_them_give_up(practice, parcel):
    run, _ = play(practice, parcel, "Which city do you live in?", "What have you tried so far?")
    assert not run.session.ended and run.session.state.strikes == 0
    assert "depot" in run.session.messages[-1].text  # what they tried, from customer_knows


def test_on_a_public_channel_the_customer_will_not_post_their_address(practice):
    scenario = load_scenario(SCENARIOS / "outage-public-post.yaml")
    _, results = play(practice, scenario, "So sorry! What's your postcode?")
    assert any(a.says.startswith("I'm not posting") for a in results[0].customer.answers)


def test_play_json_carries_resolution_flags_and_a_scorecard(fast_services, tmp_path):
    import os
    import subprocess
    import sys
    replies = tmp_path / "r.txt"
    over = "I've refunded you £5000 and sent you a free car, it arrives tomorrow."
    replies.write_text(f"{ORDER}\n\n{over}\n\n{RESHIP}\n")
    env = {**os.environ, "DOJO_HOME": str(fast_services.settings.home), "DOJO_CUSTOMER_BACKEND": "scripted",
           "DOJO_EMBEDDER": "hashing"}
    done = subprocess.run([sys.executable, "-m", "dojo", "play", "late-parcel-chat", "--replies", str(replies),
                           "--json", "--seed", "2"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    agent = [t for t in doc["turns"] if t["role"] == "agent"]
    assert agent[0]["resolution"] is None and agent[0]["flags"] == []
    assert [f["kind"] for f in agent[1]["flags"]] == ["over_promise"] and "£5000" in agent[1]["flags"][0]["evidence"]
    assert agent[2]["resolution"] == "express_reship"
    card = doc["scorecard"]
    assert card["outcome"] == "resolved" and card["clean"] is False and card["faults"][0]["kind"] == "over_promise"


# --- the scenario fields, validated like the rest ----------------------------------------------------

def _broken(old: str, new: str) -> str:
    text = (SCENARIOS / "late-parcel-chat.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("needs: {facts: [order_number]}", "needs: {facts: [order_numbr]}",
     "resolutions[0].needs.facts[0]: unknown fact 'order_numbr'; facts: order_number, deadline"),
    ("when: {offered: any}", "when: {offered: reship}",
     "beats[2].when.offered: unknown resolution 'reship'; resolutions: express_reship, refund_order, or any"),
    ('deliver_from: "2026-11-26"', 'deliver_from: "2026-11-31"',
     "policy.deliver_from: '2026-11-31' is not a real date; write YYYY-MM-DD"),
    ("refund_up_to: 42.00", "refund_up_to: lots", "policy.refund_up_to: 'lots' is text; expected a number"),
    ("  - id: refund_order\n", "  - id: express_reship\n", "resolutions[1].id: duplicate id 'express_reship'"),
])
def test_bad_resolution_fields_are_one_clear_line_each(old, new, expected):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_broken(old, new), "late.yaml", kb_ids={"delivery-delays"})
    assert any(str(p).endswith(expected) and str(p).startswith("late.yaml:") for p in err.value.problems), \
        [str(p) for p in err.value.problems]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_packaged_scenario_says_what_correct_looks_like(path):
    scenario = load_scenario(path)
    assert scenario.resolutions and scenario.wrong_answers, path.name
    assert scenario.policy.today and scenario.policy.refund_up_to is not None, path.name
    assert scenario.customer_knows, path.name
    resolving = [b for b in scenario.beats if b.ends == "resolved"]
    assert all(b.when.offered for b in resolving), path.name


# --- the detectors -----------------------------------------------------------------------------------

def test_the_issue_examples_are_caught():
    rule = public_data_rule("Please reply here with your order number, full name and the email address on "
                            "your account")
    assert not rule.passed and "full name" in rule.message and "email address" in rule.message
    dm = [r for r in check_reply("please send me your password and the full card number", "social_dm")
          if not r.passed]
    assert [r.rule for r in dm] == ["no_secrets_requested"]
    assert public_data_rule("Please DM us your order number and postcode and we'll look into it.").passed


def test_detectors_meet_their_targets_on_the_labeled_requests():
    items = [json.loads(x) for x in (ROOT / "bench/data/unsafe-requests-v1.jsonl").read_text().splitlines()]
    assert len(items) >= 300 and sum(not i["secret"] and not i["personal_public"] for i in items) >= 100
    for label, predict in (("secret", lambda i: bool(secret_requests(i["text"]))),
                           ("personal_public",
                            lambda i: i["channel"] == "public" and not public_data_rule(i["text"]).passed)):
        tp = sum(predict(i) and i[label] for i in items)
        fp = sum(predict(i) and not i[label] for i in items)
        fn = sum(not predict(i) and i[label] for i in items)
        assert tp / (tp + fp) >= 0.95 and tp / (tp + fn) >= 0.95, (label, tp, fp, fn)


def test_asked_for_their_password_the_customer_refuses_and_it_costs(practice, parcel):
    asks = "I'm sorry about the wait. Please send me your password and we'll check the account."
    fine = "I'm sorry about the wait. Please never share your password with anyone; we'll check the account."
    run, results = play(practice, parcel, asks)
    calm, _ = play(practice, parcel, fine)
    assert results[0].customer.answers[0].topic == "secret"
    assert "password" in run.session.messages[-1].text.lower()
    assert not next(r for r in results[0].rules if r.rule == "no_secrets_requested").passed
    assert run.session.state.frustration > calm.session.state.frustration


def test_a_wrong_amount_or_order_date_is_corrected(practice, parcel):
    run, results = play(practice, parcel, "I see you were charged £24.00 for it and ordered it on Friday.")
    kinds = [f.message for f in results[0].customer.fix.flags]
    assert kinds == ["Said £24.00; the record has £42.00.",
                     "Said the order was placed on Friday 20 November; the record has Monday 16 November."]
    text = run.session.messages[-1].text
    assert "It was £42.00, not £24.00." in text and "16 November" in text
    _, right = play(practice, parcel, "You ordered it on 16 November and paid £42.00, I can see that.")
    assert right[0].customer.fix.flags == ()


def test_naming_the_right_order_from_the_record_identifies_it(practice, parcel):
    run, results = play(practice, parcel, f"I'm sorry, I can see order ORD-48213 here. {RESHIP}")
    assert results[0].customer.fix.resolution == "express_reship" and run.session.outcome == "resolved"


def test_a_fix_missing_its_detail_or_amount_is_not_yet_the_accepted_one(fast_services, parcel):
    from simulator.fixes import FixJudge
    judge = FixJudge(fast_services.embedder)
    standard = judge.judge("I'll reship your order by standard post now at no cost; it should be with you on Thursday.",
                           parcel, revealed=["order_number"])
    assert standard.offered == "express_reship" and standard.resolution is None
    assert standard.missing == ("say:express or next day or next-day or priority",)
    partial = judge.judge("I can refund £20.00 of the order for you today.", parcel, revealed=["order_number"])
    assert partial.offered == "refund_order" and partial.missing == ("amount:£42.00",)
    full = judge.judge("I can refund the order in full for you today, that's £42.00.", parcel,
                       revealed=["order_number"])
    assert full.resolution == "refund_order"


def test_a_refusal_in_one_clause_does_not_hide_the_fix_in_the_next():
    from simulator.fixes import clauses
    assert clauses("I can't switch two-step off on request, but I've emailed you a code") == [
        "I can't switch two-step off on request", "but I've emailed you a code"]
    assert clauses("Sent by express today; please post the old pair back") == [
        "Sent by express today", "please post the old pair back"]


def test_a_question_is_not_an_offer_but_an_offer_put_as_a_question_is(fast_services, parcel):
    from simulator.fixes import FixJudge
    judge = FixJudge(fast_services.embedder)
    assert judge.judge("Could you tell me the order number?", parcel).offered is None
    offer = judge.judge("Would you like me to reship your order by express now at no cost?", parcel,
                        revealed=["order_number"])
    assert offer.resolution == "express_reship"


def test_an_apology_alone_offers_no_fix_right_or_wrong(parcel):
    """However close its topic (every example at cosine 1 here), "I'm so sorry your parcel is late" offers
    nothing; the same apology with an action does."""
    import numpy as np

    from simulator.fixes import FixJudge

    class Same:
        def embed(self, texts):
            return np.ones((len(texts), 4)) / 2.0

    judge = FixJudge(Same(), min_similarity=0.5)
    for text in ("I'm so sorry your parcel is late.", "Sorry about the delay with your parcel.",
                 "I understand how annoying that is."):
        verdict = judge.judge(text, parcel)
        assert verdict.offered is None and verdict.wrong is None and not verdict.flags, text
    assert judge.judge("Sorry, I've reshipped it by express.", parcel).offered is not None
    assert judge.judge("I'm sorry, you'll need to contact the courier.", parcel).offered is not None
    # an apology that goes on to say something is judged on what it says (a wrong answer, maybe)
    assert judge.judge("Sorry, parcels sometimes get delayed with the courier.", parcel).offered is not None


@pytest.mark.real_models
def test_an_apology_before_a_question_is_not_a_wrong_fix_on_minilm(parcel):
    from scoring.embeddings import MiniLMEmbedder
    from simulator.fixes import FixJudge

    verdict = FixJudge(MiniLMEmbedder()).judge(
        "I'm so sorry your parcel is late. Could you give me the order number so I can check it right now?", parcel)
    assert verdict.wrong is None and not verdict.flags
