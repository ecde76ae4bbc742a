"""Shared fixtures. Unit tests use the product's no-model parts (scripted backend, hashing embedder);
tests marked `real_models` load the embedded models from DOJO_HOME (provisioned by `make test`)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from dojo.services import Services
from simulator.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# Which database the suite's services use: `sqlite` (default) or `postgresql` (a throw-away server the
# tests start from Debian's package). `make test` runs the suite on SQLite, then the database tests on
# PostgreSQL (pytest_collection_modifyitems).
TEST_DATABASE = os.environ.get("DOJO_TEST_DATABASE", "sqlite")
# Session fixtures whose own database is incidental to the tests using them (see pytest_collection_modifyitems).
SHARED = ("fast_services", "real_services")


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass (DOJO_TEST_DATABASE=postgresql, `make test`'s second run) only the tests whose
    subject is the database run again: those that ask for a database of their own (`new_database`: accounts,
    roles, calibration rounds, resuming in another process, a kill -9, two servers on one database, the
    browser's logins and resumes). The rest would repeat the first pass: pure logic, the store's own tests
    (on both kinds already, `tests/test_store.py`), and the tests that use the shared services only for
    their models (`SHARED`: the database those hold keeps whatever a test happens to record)."""
    if TEST_DATABASE != "postgresql":
        return
    asks = {id(item): _asks_for_a_database(item) for item in items}
    uses = [item for item in items if asks[id(item)]]
    repeats = [item for item in items if not asks[id(item)]]
    if repeats:
        config.hook.pytest_deselected(items=repeats)
        items[:] = uses


def _asks_for_a_database(item) -> bool:
    """Whether the test reaches `new_database` other than through the shared services' own database."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    seen: set[str] = set()
    todo = list(info.argnames)
    while todo:
        name = todo.pop()
        if name in seen or name in SHARED:
            continue
        seen.add(name)
        if name == "new_database":
            return True
        for definition in info.name2fixturedefs.get(name, ())[-1:]:
            todo.extend(definition.argnames)
    return False


@pytest.fixture(scope="session")
def pg_server():
    from tests.pg import find_bin, postgres_server

    if not find_bin("initdb"):
        if os.environ.get("CI") or TEST_DATABASE == "postgresql":
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql", pytrace=False)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server(free_port()) as server:
        yield server.url


@pytest.fixture(scope="session")
def new_database(request, tmp_path_factory):
    """Makes an empty database of the suite's kind (DOJO_TEST_DATABASE) and returns its URL."""
    from dojo.store import sqlite_url
    from tests.pg import create_database

    def make() -> str:
        if TEST_DATABASE == "postgresql":
            return create_database(request.getfixturevalue("pg_server"))
        return sqlite_url(tmp_path_factory.mktemp("db"))
    return make


@pytest.fixture(scope="session")
def fast_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dojo-home")


@pytest.fixture(scope="session")
def fast_services(fast_home, new_database) -> Services:
    """Scripted customer + hashing embedder + a scorer trained on the real labeled data."""
    settings = Settings(home=fast_home, customer_backend="scripted", seed=7, database_url=new_database())
    services = Services(settings, embedder_kind="hashing")
    services.train()
    return services


def with_database(fast: Services, database_url: str) -> Services:
    """The fast services' models (scripted customer, hashing embedder, trained scorer) over a database of
    their own, so tests with accounts never touch another test's users."""
    other = Services(Settings(home=fast.settings.home, customer_backend="scripted", seed=7,
                              database_url=database_url), embedder_kind="hashing")
    for part in ("embedder", "backend", "rubric", "scorer", "customer", "practice"):
        other.__dict__[part] = getattr(fast, part)
    return other


@pytest.fixture(scope="session")
def real_services(new_database) -> Services:
    """The embedded models, as `dojo serve` runs them (models from the user's DOJO_HOME)."""
    settings = Settings.from_env()
    if TEST_DATABASE == "postgresql":
        settings = replace(settings, database_url=new_database())
    services = Services.from_settings(settings)
    if not services.has_scorer():
        services.train()
    return services


@contextmanager
def served(services: Services) -> Iterator[str]:
    """The app on a free loopback port, as `dojo serve` runs it; yields its URL."""
    import app

    port = free_port()
    demo = app.main(services, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scenario_text() -> str:
    return (ROOT / "scenarios" / "late-parcel-chat.yaml").read_text(encoding="utf-8")
