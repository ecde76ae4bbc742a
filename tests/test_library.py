"""The packaged scenario library: coverage the trainers were promised, and every scenario playable.

Each scenario is played through the real customer logic (scripted phrasing, so no model) twice: by a
good trainee (asks for what the customer holds, cites the scenario's articles, replies that score well)
who must reach `resolved` within max_turns, and by a dismissive one who must never get there.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from scoring.embeddings import HashingEmbedder
from simulator.backends import ScriptedBackend
from simulator.channels import Channel
from simulator.customer import Customer, CustomerConfig
from simulator.scenario import Scenario, ScenarioLibrary, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ScenarioLibrary.load(ROOT / "scenarios")
GOOD = dict.fromkeys(("empathy", "ownership", "solution", "follow_up"), 0.9)
BAD = dict.fromkeys(("empathy", "ownership", "solution", "follow_up"), 0.1)


def play(scenario: Scenario, scores: dict[str, float], reply_for) -> tuple[str | None, int]:
    customer = Customer(ScriptedBackend(), HashingEmbedder(), CustomerConfig(candidates=1))
    _, state = customer.opening(scenario)
    while state.outcome is None:
        _, state = customer.next_turn(scenario, state, reply_for(scenario, state), scores)
    return state.outcome, state.replies


def good_reply(scenario: Scenario, state) -> str:
    wanted = [f for f in scenario.facts if f.id not in state.revealed and f.id not in scenario.bot_collected]
    asks = " ".join(f"Could you tell me {f.asked_by[0]}?" for f in wanted)
    cites = " ".join(f"kb:{a}" for a in scenario.kb_articles)
    fix = scenario.resolutions[0].examples[0] if scenario.resolutions else ""
    return f"I'm sorry, I'll sort this out now. {asks} {fix} See {cites}."


def test_library_is_big_and_covers_every_channel_and_difficulty():
    assert not LIBRARY.problems, [str(p) for p in LIBRARY.problems]
    assert len(LIBRARY) >= 16
    channels = Counter(s.channel for s in LIBRARY)
    assert set(channels) == set(Channel) and min(channels.values()) >= 3, channels
    assert {s.difficulty for s in LIBRARY} == {1, 2, 3}


def test_library_has_the_situations_trainers_asked_for():
    by_id = LIBRARY.scenarios
    public = [s for s in LIBRARY if s.channel is Channel.SOCIAL_PUBLIC]
    # an angry public post where asking for personal data in public gets a reaction
    assert any(b.when.personal_data_in_public for s in public for b in s.beats)
    # a bot hand-off where re-asking what the bot collected is a fault the customer notices
    assert any(s.bot_collected and any(b.when.reasked_bot_data for b in s.beats) for s in LIBRARY)
    # a second channel after an unanswered email, visible in the record
    assert any(c.get("status") == "unanswered" and c.get("channel") == "email" and s.channel is not Channel.EMAIL
               for s in LIBRARY for c in s.customer_record.get("contacts", []))
    # a question whose answer is an article: resolving needs the citation
    assert any(b.ends == "resolved" and b.when.cited for s in LIBRARY for b in s.beats)
    for needed in ("late-parcel-chat", "wrong-item-email", "double-charge-chat", "hacked-account-dm",
                   "outage-public-post", "price-match-refusal-chat", "thank-you-public"):
        assert needed in by_id


def test_every_article_a_scenario_names_exists_and_says_something():
    kb = ROOT / "scenarios" / "kb"
    for scenario in LIBRARY:
        for article in scenario.kb_articles:
            text = (kb / f"{article}.md").read_text(encoding="utf-8")
            assert text.startswith("# ") and len(text) > 300, article


@pytest.mark.parametrize("scenario_id", sorted(LIBRARY.scenarios))
def test_a_good_trainee_resolves_it(scenario_id):
    scenario = LIBRARY.get(scenario_id)
    outcome, replies = play(scenario, GOOD, good_reply)
    assert outcome == "resolved" and replies <= scenario.max_turns


@pytest.mark.parametrize("scenario_id", sorted(LIBRARY.scenarios))
def test_a_dismissive_trainee_never_resolves_it(scenario_id):
    outcome, _ = play(LIBRARY.get(scenario_id), BAD, lambda s, st: "ok.")
    assert outcome in {"escalated", "abandoned", "max_turns"}


def with_difficulty(scenario_id: str, level: int) -> Scenario:
    text = (ROOT / "scenarios" / f"{scenario_id}.yaml").read_text(encoding="utf-8")
    current = LIBRARY.get(scenario_id).difficulty
    return parse_scenario(text.replace(f"difficulty: {current}", f"difficulty: {level}"), "x.yaml")


MINIMAL = """
id: minimal
title: Minimal
version: 1
channel: live_chat
difficulty: {level}
persona: {{name: Test Customer, voice: plain, mood: annoyed, patience: 4}}
facts:
  - {{id: order_number, says: "It's ORD-1.", asked_by: [order number]}}
opening: {{says: "My parcel is late."}}
beats:
  - {{id: fixed, when: {{above: {{solution: 0.9}}}}, says: "Thanks.", ends: resolved}}
  - {{id: presses, says: "Where is it?"}}
endings: {{resolved: "Thanks."}}
max_turns: 20
"""


def test_harder_customers_give_up_sooner():
    unhelpful = dict.fromkeys(("empathy", "ownership", "solution", "follow_up"), 0.25)
    turns = [play(parse_scenario(MINIMAL.format(level=level)), unhelpful, lambda s, st: "Noted.")
             for level in (1, 2, 3)]
    assert [outcome for outcome, _ in turns] == ["escalated"] * 3
    assert turns[0][1] > turns[1][1] > turns[2][1], turns


def test_only_easy_customers_volunteer_what_they_were_not_asked():
    neutral = dict.fromkeys(("empathy", "ownership", "solution", "follow_up"), 0.5)
    revealed = {}
    for level in (1, 3):
        scenario = with_difficulty("address-change-dm", level)
        customer = Customer(ScriptedBackend(), HashingEmbedder(), CustomerConfig(candidates=1))
        _, state = customer.opening(scenario)
        for _ in range(2):
            if state.outcome is None:
                _, state = customer.next_turn(scenario, state, "Let me see what I can do.", neutral)
        revealed[level] = state.revealed
    assert revealed[1] and not revealed[3]


def test_the_annotated_template_is_a_valid_scenario():
    template = load_scenario(ROOT / "scenarios" / "templates" / "annotated.yaml")
    assert template.id == "my-new-scenario"


def test_the_guides_annotated_example_is_valid():
    guide = (ROOT / "docs" / "writing-scenarios.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    scenario = parse_scenario(example, "guide.yaml", kb_ids={p.stem for p in (ROOT / "scenarios/kb").glob("*.md")})
    assert scenario.id == "wrong-item-email" and scenario.beats[-1].id == "chases"
