"""Faults: the database going away mid-session (PostgreSQL stopped and restarted; SQLite's disk full) and
damaged model files. Each gives one clear message and loses no completed turn. (kill -9 of the server:
tests/test_crash.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from dojo.services import Services, StorageUnavailable
from dojo.store import Store, sqlite_url
from simulator.settings import Settings
from tests.conftest import ROOT, TEST_DATABASE, free_port, with_database

REPLIES = ["Sorry about this! Could you give me the order number?", "Thanks. I've reshipped it by express.",
           "It arrives tomorrow; I'll message you when it's out for delivery."]


def stored_texts(db: Store, session_id: str) -> list[str]:
    with db.session() as s:
        from sqlalchemy import select

        from dojo.store import Turn

        return [t.text for t in s.scalars(select(Turn).where(Turn.session_id == session_id).order_by(Turn.index))]


def assert_refused_and_undone(services: Services, run, text: str) -> None:
    before = [m.text for m in run.session.messages]
    with pytest.raises(StorageUnavailable) as caught:
        services.reply(run, text)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Your reply was not sent: ")
    assert "Every earlier turn is saved." in message
    assert [m.text for m in run.session.messages] == before  # not half-sent: the session is as it was


def test_postgresql_stopped_and_restarted_mid_session(fast_services):
    from tests.pg import find_bin, postgres_server

    if not find_bin("initdb"):
        if os.environ.get("CI") or TEST_DATABASE == "postgresql":
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql", pytrace=False)
        pytest.skip("PostgreSQL is not installed")
    with postgres_server(free_port()) as server:
        services = with_database(fast_services, server.url)
        run = services.start_run("late-parcel-chat", agent="ana")
        services.reply(run, REPLIES[0])
        server.stop()
        assert_refused_and_undone(services, run, REPLIES[1])
        server.start()
        services.reply(run, REPLIES[1])  # the same reply, sent again once the database is back
        if not run.session.ended:
            services.reply(run, REPLIES[2])
        expected = [m.text for m in run.session.messages]
        assert stored_texts(services.db, run.session.id) == expected
        services.db.engine.dispose()


def test_sqlite_disk_full_on_a_small_tmpfs(fast_services, tmp_path):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("mounting a tmpfs needs root (CI runs as root)", pytrace=False)
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], check=True)
    try:
        services = with_database(fast_services, sqlite_url(disk))
        run = services.start_run("late-parcel-chat", agent="ana")
        services.reply(run, REPLIES[0])
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # another program fills the disk
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        long = (REPLIES[1] + " " + "We will sort this out for you today. " * 100)[:300].strip()  # chat's limit
        with pytest.raises(StorageUnavailable, match="the database's disk is full"):
            services.reply(run, long)
        assert len(run.session.messages) == 3
        filler.unlink()  # space again: the same reply goes through
        services.reply(run, long)
        assert stored_texts(services.db, run.session.id) == [m.text for m in run.session.messages]
        services.db.engine.dispose()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def serve_fails(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dojo", "serve", "--port", str(free_port())], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_damaged_scorer_stops_the_start_with_one_line(fast_services, tmp_path):
    shutil.copytree(fast_services.scorers_dir, tmp_path / "scorers-hashing")
    version = (tmp_path / "scorers-hashing" / "ACTIVE").read_text().strip()
    weights = tmp_path / "scorers-hashing" / version / "model.joblib"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 3: len(blob) // 3 + 4096] = os.urandom(4096)
    weights.write_bytes(bytes(blob[: len(blob) // 2]))
    env = {**os.environ, "DOJO_HOME": str(tmp_path), "DOJO_EMBEDDER": "hashing", "DOJO_CUSTOMER_BACKEND": "scripted"}
    done = serve_fails(env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"dojo: scorer {weights} is missing or damaged") and "run `dojo train`" in line


@pytest.mark.real_models
@pytest.mark.parametrize("engine", ["llamacpp", "transformers"])
def test_a_damaged_customer_model_stops_the_start_with_one_line(tmp_path, engine):
    from simulator.model_files import customer_dir, engine_gguf

    real = Settings.from_env()
    home = tmp_path / "home"
    if engine == "llamacpp":  # the engine's weights: the Q8_0 GGUF and its manifest
        source, weights = engine_gguf(real), engine_gguf(Settings(home=home))
        weights.parent.mkdir(parents=True)
        shutil.copy(source, weights)
        shutil.copy(source.with_suffix(".json"), weights.with_suffix(".json"))
    else:
        source, target = customer_dir(real) / "model.safetensors", customer_dir(Settings(home=home))
        target.parent.mkdir(parents=True)
        shutil.copytree(source.parent, target)
        weights = target / "model.safetensors"
    with weights.open("r+b") as f:
        f.seek(weights.stat().st_size // 2)
        f.write(os.urandom(64))
    env = {**os.environ, "DOJO_HOME": str(home), "DOJO_CUSTOMER_BACKEND": engine}
    done = serve_fails(env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert f"{weights}" in line and "is damaged (sha256" in line and "dojo models pull" in line
    assert source.stat().st_size == weights.stat().st_size  # the real one untouched
