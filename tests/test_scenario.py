"""Scenario files: the library loads, and every kind of bad file gives one clear line with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import MAX_FILE_BYTES, ScenarioError, ScenarioLibrary, load_scenario, parse_scenario

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
    assert any("difficulty: 'hard' is a str; expected integer" in m for m in messages)


def test_yaml_syntax_error_gives_its_line(scenario_text):
    text = scenario_text.replace('title: "Live chat: the parcel that never came"', 'title: "unclosed')
    [message] = problems_of(text)
    assert message.startswith("bad.yaml:") and "YAML syntax error" in message


def test_empty_file_and_list_at_top_level():
    assert problems_of("") == ["bad.yaml:1: (file): the file is empty; a scenario is a mapping of id, title, "
                               "version, channel, ..."]
    [message] = problems_of("- a\n- b\n")
    assert "the top level is a list" in message


def test_missing_reference_is_a_cross_check_problem(scenario_text):
    text = scenario_text.replace("when: {asked_for: deadline}", "when: {asked_for: favourite_colour}")
    [message] = problems_of(text)
    assert "beats[1].when.asked_for: unknown fact 'favourite_colour'; facts: order_number, deadline" in message


def test_no_resolving_beat_is_reported(scenario_text):
    text = scenario_text.replace("    ends: resolved\n", "")
    assert any("no beat ends the session as resolved" in m for m in problems_of(text))


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: caf\xe9-order\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}:1: (file): not UTF-8 text (byte 0xe9 at offset 7); save the file as UTF-8"


def test_oversized_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES)
    with pytest.raises(ScenarioError, match="the limit is 262144"):
        load_scenario(path)


def test_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    [message] = problems_of(bomb)
    assert "alias bomb" in message
