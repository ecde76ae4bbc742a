"""`dojo validate` on one invalid fixture per failure a trainer can make: exactly one clear line each.

Fixtures live in tests/fixtures/invalid/; each expected line is `file:line: field.path: message`.
The oversized file is generated (256 KB of fixture in git would be waste).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.scenario import MAX_FILE_BYTES, load_many

ROOT = Path(__file__).resolve().parent.parent
INVALID = Path("tests/fixtures/invalid")

EXPECTED = {
    "yaml-syntax.yaml": "11: (file): YAML syntax error: expected <block end>, but found '<scalar>' (column 12), "
                        "while parsing a block mapping that starts on line 1; check the quotes and indentation "
                        "on this line and the lines above",
    "not-utf8.yaml": "1: (file): not UTF-8 text (byte 0xe9 at offset 7); save the file as UTF-8",
    "empty.yaml": "1: (file): the file is empty; a scenario is a mapping of id, title, version, channel, ...",
    "list-top-level.yaml": "1: (file): the top level is a list; a scenario is a mapping of id, title, version, "
                           "channel, ...",
    "list-for-mapping.yaml": "6: persona: ['Test Customer', 'plain'] is a list; expected a mapping (key: value lines)",
    "unknown-key.yaml": "9: persona.annotator: unknown key 'annotator'; valid keys: behaviours, mood, name, patience, "
                        "style, voice",
    "unknown-reference.yaml": "17: beats[0].when.asked_for: unknown fact 'favourite_colour'; facts: order_number",
    "unreachable-beat.yaml": "24: beats[2].id: beat 'too_late' can never be reached: it comes after 'fixed', "
                             "which ends the session",
    "wrong-channel-field.yaml": "13: opening.subject: an email scenario needs a subject on its opening message",
    "alias-bomb.yaml": "1: (file): more than 20000 YAML nodes (an alias bomb?)",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_invalid_fixture_gives_its_one_line(name):
    _, problems = load_many([INVALID / name])
    assert [str(p) for p in problems] == [f"{INVALID / name}:{EXPECTED[name]}"]


def test_wrong_types_give_one_line_each_in_file_order():
    _, problems = load_many([INVALID / "wrong-types.yaml"])
    assert [str(p) for p in problems] == [
        f"{INVALID}/wrong-types.yaml:3: version: 'one' is text; expected a whole number",
        f"{INVALID}/wrong-types.yaml:5: difficulty: 5 is greater than the maximum of 3",
    ]


def test_duplicate_ids_across_files():
    folder = INVALID / "duplicates"
    _, problems = load_many([folder / "first.yaml", folder / "second.yaml"])
    assert [str(p) for p in problems] == [
        f"{folder}/second.yaml:1: id: duplicate scenario id 'minimal-valid' (also in {folder}/first.yaml)"]


def test_duplicate_key_in_one_file_is_not_silently_dropped(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text((ROOT / "tests/fixtures/valid-minimal.yaml").read_text().replace(
        "  voice: plain\n", "  voice: plain\n  voice: loud\n"))
    _, problems = load_many([path])
    assert [str(p) for p in problems] == [
        f"{path}:9: persona.voice: duplicate key 'voice' (first on line 8); each key may appear once"]


def test_tab_indentation_says_use_spaces(tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("id: x\nbeats:\n\t- id: a\n")
    _, [problem] = load_many([path])
    assert str(problem).startswith(f"{path}:3: (file): YAML syntax error: found character")
    assert str(problem).endswith("indent with spaces, not tabs")


def test_oversized_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES)
    _, problems = load_many([path])
    assert [str(p) for p in problems] == [f"{path}: (file): file is {MAX_FILE_BYTES + 2} bytes; the limit is "
                                          f"{MAX_FILE_BYTES}"]


def test_dojo_validate_prints_every_problem_one_per_line_and_exits_1():
    done = subprocess.run([sys.executable, "-m", "dojo", "validate", str(INVALID), str(INVALID / "duplicates")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == len(EXPECTED) + 2 + 1  # wrong-types has two problems; duplicates one
    assert all(line.startswith(str(INVALID)) for line in lines)
    assert "Traceback" not in done.stderr and done.stderr.strip() == "1 of 13 scenario files valid"


def test_the_minimal_fixture_itself_is_valid():
    scenarios, problems = load_many([ROOT / "tests/fixtures/valid-minimal.yaml"])
    assert not problems and list(scenarios) == ["minimal-valid"]
