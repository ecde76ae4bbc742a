"""A trainer in a real browser: opens a scenario, breaks it, sees the error and its line, fixes it,
playtests one turn against the real customer, saves; the file on disk changed and its version went up.

Runs on a scratch copy of the library, so the repository's scenarios are never written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import served
from tests.e2e.conftest import ready

pytestmark = [pytest.mark.browser, pytest.mark.real_models]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-editor.png"


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("library") / "scenarios"
    shutil.copytree(ROOT / "scenarios", folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return folder


@pytest.fixture(scope="module")
def url(real_services, library):
    with served(real_services.with_scenarios(library)) as url:
        yield url


def test_trainer_edits_validates_playtests_and_saves(browser, url, library):
    path = library / "late-parcel-chat.yaml"
    original = path.read_text(encoding="utf-8")
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(url)
    ready(page)  # the page's load events first, so nothing re-renders while the trainer types
    page.get_by_role("tab", name="Scenario editor").click()
    page.locator("#dojo-edit-file input").click()
    page.get_by_role("option", name="late-parcel-chat.yaml").click()
    page.locator("#dojo-edit-open").click()
    problems = page.locator("#dojo-edit-problems")
    problems.get_by_text("Valid.").wait_for(timeout=30_000)

    code = page.locator("#dojo-editor .cm-content")
    code.get_by_text("id: late-parcel-chat").wait_for(timeout=30_000)  # the editor shows the opened file
    code.click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("oops: true\n")
    problems.get_by_text("unknown key 'oops'").wait_for(timeout=30_000)
    assert "line 1: oops:" in problems.inner_text()

    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.type("# Edited in the browser test.\n")
    problems.get_by_text("Valid.").wait_for(timeout=30_000)

    page.locator("#dojo-playtest").click()
    customer = page.locator("#dojo-pt-conversation .dojo-bubble-row.customer")
    customer.first.wait_for(timeout=90_000)
    page.locator("#dojo-pt-reply textarea").fill(
        "I'm so sorry your parcel is late. Could you give me the order number so I can check it right now?")
    page.locator("#dojo-pt-send").click()
    page.locator("#dojo-pt-feedback").get_by_text("Follow-up").wait_for(timeout=90_000)
    assert customer.count() == 2

    page.locator("#dojo-edit-save").click()
    page.locator("#dojo-edit-status").get_by_text("version 2 → version 3").wait_for(timeout=30_000)
    saved = path.read_text(encoding="utf-8")
    assert saved != original
    assert saved.startswith("# Edited in the browser test.\n") and "\nversion: 3\n" in saved
    assert "oops" not in saved
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
