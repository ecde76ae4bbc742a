"""Browser fixtures: Debian's chromium driven by Playwright (no `playwright install`, no download)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("DOJO_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
                    "or set DOJO_CHROMIUM", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def ready(page, timeout: float = 120_000) -> None:
    """The practice page's load events have run (the recommended scenario selected, a session in the page's
    address continued, the unfinished sessions listed): nothing re-renders under what the test does next."""
    page.wait_for_selector("body[data-dojo-ready]", state="attached", timeout=timeout)
