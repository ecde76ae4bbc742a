"""A practice session lives in the database: a reload, a second tab, or a server killed and started again
continues it where it stopped, in a real browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, served, with_database
from tests.e2e.conftest import ready

pytestmark = pytest.mark.browser
PICK = "Live chat · level 1 · Live chat: the parcel that never came"
FIRST = "I'm so sorry about the wait! Could you give me the order number?"
SECOND = "Thanks. Let me check the tracking for you now."


def start_late_parcel(page) -> None:
    ready(page)
    page.locator("#dojo-scenario input").click()
    page.get_by_role("option", name=PICK).click()
    page.locator("#dojo-start").click()
    page.locator("#dojo-record").get_by_text("Priya Raman").wait_for(timeout=60_000)


def send(page, text: str, customers: int) -> None:
    page.locator("#dojo-reply textarea").fill(text)
    page.locator("#dojo-send").click()
    page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(customers - 1).wait_for(timeout=60_000)


def bubbles(page) -> list[str]:
    """Each message's sender and text (its time line left out: the page rewrites it to the reader's clock)."""
    return [text.rsplit("\n", 1)[0] for text in page.locator("#dojo-conversation .dojo-bubble-row").all_inner_texts()]


@pytest.fixture(scope="module")
def url(fast_services, new_database):
    with served(with_database(fast_services, new_database())) as address:
        yield address


def test_a_reload_and_a_second_tab_continue_the_session(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    start_late_parcel(page)
    send(page, FIRST, customers=2)
    before = bubbles(page)
    assert "session=" in page.url
    page.reload()
    page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(1).wait_for(timeout=60_000)
    assert bubbles(page) == before  # the same session, not a new one
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(page.url)  # a second tab on the same address
    other.locator("#dojo-conversation .dojo-bubble-row.customer").nth(1).wait_for(timeout=60_000)
    assert bubbles(other) == before
    send(other, SECOND, customers=3)
    page.reload()  # what the other tab sent is part of the session
    page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(2).wait_for(timeout=60_000)
    assert SECOND in page.locator("#dojo-conversation").inner_text()
    # My sessions lists it, and Resume opens it from a fresh page.
    fresh = browser.new_page(viewport={"width": 1400, "height": 1000})
    fresh.goto(url)
    ready(fresh)
    fresh.locator("#dojo-my-sessions input").click()
    fresh.get_by_role("option", name="late-parcel-chat · 2 replies", exact=False).click()
    fresh.locator("#dojo-resume").click()
    fresh.locator("#dojo-conversation").get_by_text(SECOND).wait_for(timeout=60_000)
    for p in (page, other, fresh):
        p.close()


def serve(home: str, database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DOJO_HOME": home, "DATABASE_URL": database_url, "DOJO_CUSTOMER_BACKEND": "scripted",
           "DOJO_EMBEDDER": "hashing", "DOJO_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "-m", "dojo", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"dojo serve exited with {process.returncode}") from None
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("dojo serve did not answer within 120 s")


def test_a_server_killed_mid_session_and_started_again_continues_it(browser, fast_services, new_database):
    database_url, port = new_database(), free_port()
    server = serve(str(fast_services.settings.home), database_url, port)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/")
        start_late_parcel(page)
        send(page, FIRST, customers=2)
        before, address = bubbles(page), page.url
        os.killpg(server.pid, signal.SIGKILL)  # no clean shutdown
        server.wait(timeout=30)
        server = serve(str(fast_services.settings.home), database_url, port)
        page.goto(address)
        page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(1).wait_for(timeout=60_000)
        assert bubbles(page) == before
        send(page, SECOND, customers=3)
        assert SECOND in page.locator("#dojo-conversation").inner_text()
        page.close()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
