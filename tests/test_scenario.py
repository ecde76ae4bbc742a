"""Scenario files: the library loads, and every kind of bad file gives one clear line with its place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.scenario import ScenarioError, ScenarioLibrary, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def problems_of(text: str, **kw) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml", kb_ids={"delivery-delays"}, **kw)
    return [str(p) for p in info.value.problems]


def test_library_loads_every_packaged_scenario_without_problems():
    library = ScenarioLibrary.load(ROOT / "scenarios")
    assert not library.problems, [str(p) for p in library.problems]
    assert "late-parcel-chat" in library.scenarios


def test_loaded_scenario_has_channel_standard_and_record():
    s = load_scenario(ROOT / "scenarios" / "late-parcel-chat.yaml")
    assert s.response_standard_s == 60
    assert s.customer_record["orders"][0]["id"] == "ORD-48213"
    assert s.fact("order_number").says.endswith("ORD-48213.")


def test_unknown_key_names_file_line_field_and_valid_keys(scenario_text):
    text = scenario_text.replace("  patience: 4", "  patience: 4\n  annotator: bob")
    line = text.splitlines().index("  annotator: bob") + 1
    [message] = problems_of(text)
    assert message.startswith(f"bad.yaml:{line}: persona.annotator: unknown key 'annotator'; valid keys: ")
    assert "voice" in message


def test_wrong_type_and_bad_enum_are_both_reported(scenario_text):
    text = scenario_text.replace("difficulty: 1", "difficulty: hard").replace("channel: live_chat", "channel: fax")
    messages = problems_of(text)
    assert any("channel: 'fax' is not one of email, live_chat" in m for m in messages)
    assert any("difficulty: 'hard' is text; expected a whole number" in m for m in messages)


def test_missing_reference_is_a_cross_check_problem(scenario_text):
    text = scenario_text.replace("when: {asked_for: deadline}", "when: {asked_for: favourite_colour}")
    [message] = problems_of(text)
    assert "beats[1].when.asked_for: unknown fact 'favourite_colour'; facts: order_number, deadline" in message


def test_no_resolving_beat_is_reported(scenario_text):
    text = scenario_text.replace("    ends: resolved\n", "")
    assert any("no beat ends the session as resolved" in m for m in problems_of(text))


@pytest.mark.parametrize("when, reason", [
    ("{below: {solution: 0.4}, above: {solution: 0.6}}", "its `below` and `above` levels contradict each other"),
    ("{min_turn: 12}", "min_turn 12 is past max_turns 8"),
    ("{personal_data_in_public: true}", "personal data in public can only happen on the social_public channel"),
    ("{reasked_bot_data: true}", "reasked_bot_data needs bot_collected facts"),
    ("{after: gives_up}", "it comes after 'gives_up', which ends the session"),
])
def test_unreachable_beat_is_named_with_its_reason(scenario_text, when, reason):
    text = scenario_text.replace("when: {asked_for: deadline}", f"when: {when}")
    line = _line_of(text, "- id: gives_deadline")
    assert problems_of(text) == [f"bad.yaml:{line}: beats[1].id: beat 'gives_deadline' can never be reached: {reason}"]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, x in enumerate(text.splitlines(), 1) if needle in x)


def test_after_cycle_is_reported_for_each_beat_in_it(scenario_text):
    text = scenario_text.replace("when: {asked_for: deadline}", "when: {after: presses}").replace(
        '  - id: presses\n', '  - id: presses\n    when: {after: gives_deadline}\n')
    messages = problems_of(text)
    assert len(messages) == 2 and all("form a cycle" in m for m in messages)
    assert "gives_deadline -> presses -> gives_deadline" in messages[0]


def test_only_resolving_beat_unreachable(scenario_text):
    text = scenario_text.replace("when: {offered: any}", "when: {min_turn: 99}")
    line = _line_of(text, "beats:")
    assert problems_of(text)[-1] == f"bad.yaml:{line}: beats: no reachable beat ends the session as resolved"


def test_every_schema_field_has_a_description():
    schema = json.loads((ROOT / "scenarios" / "schema.json").read_text(encoding="utf-8"))
    missing = []

    def walk(node: dict, path: str) -> None:
        for key, sub in node.get("properties", {}).items():
            if not sub.get("description"):
                missing.append(f"{path}{key}")
            walk(sub, f"{path}{key}.")
            if isinstance(sub.get("items"), dict):
                walk(sub["items"], f"{path}{key}[].")
        for sub in node.get("$defs", {}).values():
            walk(sub, path)

    walk(schema, "")
    assert schema.get("additionalProperties") is False and not missing, missing


def test_a_public_post_over_280_characters_is_reported(scenario_text):
    text = scenario_text.replace("channel: live_chat", "channel: social_public").replace(
        'says: "So what happens now? Will it get here by Saturday or not?"',
        'says: "' + "So what happens now? " * 15 + '"')
    [message] = problems_of(text)
    assert message.endswith("beats[5].says: 315 characters; a public social post message is at most 280")


def test_another_wording_that_drops_a_detail_is_reported_with_its_place(scenario_text):
    text = scenario_text.replace('      - "ORD-48213. I emailed on Friday too, no answer."',
                                 '      - "My order. I emailed on Friday too, no answer."')
    line = text.splitlines().index('      - "My order. I emailed on Friday too, no answer."') + 1
    [message] = problems_of(text)
    assert message == (f"bad.yaml:{line}: beats[0].also_says[0]: leaves out 'ORD-48213' of `says`; every wording "
                       "keeps its numbers, references, amounts, names, days and times")


def test_another_wording_may_reorder_and_recase_the_details(scenario_text):
    text = scenario_text.replace('      - "ORD-48213. I emailed on Friday too, no answer."',
                                 '      - "friday I emailed too, no answer. ORD-48213."')
    assert parse_scenario(text, "ok.yaml", kb_ids={"delivery-delays"}).beats[0].also_says[0].startswith("friday")


def test_every_packaged_line_has_other_wordings():
    library = ScenarioLibrary.load(ROOT / "scenarios")
    for scenario in library.scenarios.values():
        assert len(scenario.opening_also_says) >= 2, scenario.id
        assert all(len(b.also_says) >= 2 for b in scenario.beats), scenario.id
