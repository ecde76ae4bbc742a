"""A real OpenAI-compatible model server: vLLM's CPU build serving the embedded SmolLM2 from its bf16 cache,
started and stopped here. A whole practice session and the load benchmark run through it with the `openai`
backend in completion style (the few-shot prompt the embedded engine gets).

vLLM lives in its own virtual environment (its transformers pin differs from ours): `bench/vllm/install.sh
DIR`, which `.ci/run` runs into `$DOJO_HOME/vllm-venv`; `DOJO_VLLM_VENV` points elsewhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from dojo.services import Services
from simulator.model_files import customer_dir
from simulator.settings import Settings
from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.model_server, pytest.mark.real_models]
GOOD = ["I'm so sorry your parcel is late. Could you give me the order number?",
        "Thanks. I've reshipped it by express at no charge; it arrives tomorrow before noon. I'll message you "
        "here once it's out for delivery."]


def vllm_venv() -> Path:
    return Path(os.environ.get("DOJO_VLLM_VENV") or Settings.from_env().home / "vllm-venv")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    vllm = vllm_venv() / "bin" / "vllm"
    if not vllm.exists():
        message = f"no vLLM at {vllm}: run bench/vllm/install.sh {vllm_venv()} (CI does)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port, log = free_port(), tmp_path_factory.mktemp("vllm") / "serve.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([str(vllm), "serve", str(customer_dir(Settings.from_env())), "--dtype", "bfloat16",
                                    "--served-model-name", "smollm2", "--port", str(port), "--max-model-len", "2048"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as answer:
                    assert json.load(answer)["data"][0]["id"] == "smollm2"
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"vllm serve did not come up: {log.read_text(errors='replace')[-1500:]}", pytrace=False)
                time.sleep(2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def served_by(real_services: Services, url: str) -> Services:
    settings = replace(real_services.settings, customer_backend="openai", openai_base_url=url,
                       openai_model="smollm2", openai_style="completion")
    services = Services(settings)
    for part in ("embedder", "rubric", "scorer", "db"):
        services.__dict__[part] = getattr(real_services, part)
    return services


def test_a_whole_practice_session_through_vllm(server, real_services):
    services = served_by(real_services, server)
    run = services.start_run("late-parcel-chat", seed=11)
    for text in GOOD:
        services.reply(run, text, delay_s=20)
    customer = [m for m in run.session.messages if m.role == "customer"]
    assert run.session.outcome == "resolved"
    # Every customer turn came from the server's candidates (reworded, given back as it was, or refused by a
    # guard, which then sends the line): none because the server was unreachable or sent nothing.
    guards = [m.guard for m in customer]
    assert all(g in ("model", "model_verbatim") or (g.startswith("fallback:") and "backend_unavailable" not in g
                                                     and "no candidates" not in g) for g in guards), guards
    assert sum(g == "model" for g in guards) >= 2, guards


def test_the_load_benchmark_runs_through_vllm(server):
    env = {**os.environ, "DOJO_CUSTOMER_BACKEND": "openai", "DOJO_OPENAI_BASE_URL": server,
           "DOJO_OPENAI_MODEL": "smollm2", "DOJO_OPENAI_STYLE": "completion"}
    done = subprocess.run([sys.executable, "bench/load.py", "--levels", "2", "--replies", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "customer: model server" in done.stdout
    [row] = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("2 ")]
    assert row[3] == "0" and row[4] == "0", done.stdout  # no errors, no mismatched transcript
