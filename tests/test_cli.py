"""The dojo console script: help for every command, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dojo.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def dojo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dojo", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("command", [[], ["serve"], ["models"], ["models", "pull"], ["models", "status"],
                                     ["train"], ["validate"], ["score"], ["play"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: dojo" in capsys.readouterr().out


def test_top_level_help_lists_settings():
    out = dojo("--help").stdout
    assert "DOJO_HOME" in out and "DOJO_CUSTOMER_BACKEND" in out and "serve" in out


def test_validate_passes_on_the_library():
    done = dojo("validate", "scenarios")
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_reports_problems_one_per_line_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scenarios" / "late-parcel-chat.yaml").read_text().replace("version: 2", "version: one"))
    done = dojo("validate", str(bad))
    assert done.returncode == 1
    assert done.stdout.strip().splitlines() == [f"{bad}:5: version: 'one' is text; expected a whole number"]
    assert "Traceback" not in done.stderr


def test_bad_setting_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("DOJO_PORT", "eighty")
    assert main(["models", "status"]) == 2
    assert capsys.readouterr().err.strip() == "dojo: DOJO_PORT='eighty': port must be a whole number"


def test_models_status_with_empty_home_exits_1_and_says_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOJO_HOME", str(tmp_path))
    assert main(["models", "status"]) == 1
    assert "run `dojo models pull`" in capsys.readouterr().out


def test_every_setting_is_documented_in_the_readme():
    from dataclasses import fields

    from simulator.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for f in fields(Settings):
        if "env" in f.metadata:
            assert f"| `{f.metadata['env']}` |" in readme, f.metadata["env"]
