"""A trainee with an account, in a real browser: logs in, completes a session, sees the scorecard, opens
Progress and finds the new point; the reviewer and editor pages are not there for them, and another
agent's progress is refused (through the HTTP API too: tests/test_access.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import served, with_database

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-progress.png"
GOOD = ("I'm so sorry your parcel is late, that's our mistake. I can see order ORD-48213 here. I'll reship it by "
        "express at no charge; it will be with you on Thursday. I'll message you here once it's out for delivery.")


@pytest.fixture(scope="module")
def url(fast_services, new_database):
    services = with_database(fast_services, new_database())
    services.db.add_user("ana", "trainee", PASSWORD)
    services.db.add_user("ben", "trainee", PASSWORD)
    with served(services) as url:
        yield url


def test_a_trainee_logs_in_practises_and_finds_the_new_point_in_progress(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_label(re.compile("username", re.I)).fill("ana")
    page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("login", re.I)).click()
    page.locator("#dojo-who").get_by_text("ana").wait_for(timeout=60_000)
    assert "trainee" in page.locator("#dojo-who").inner_text()
    # Pages for other roles are not offered.
    page.get_by_role("tab", name="Progress").wait_for(timeout=30_000)
    # The reviewer and editor pages show a notice, not their controls (and refuse their events).
    page.get_by_role("tab", name="Review").click()
    page.locator("#dojo-review-notice").get_by_text("for reviewers, trainers and admins").wait_for(timeout=30_000)
    assert not page.locator("#dojo-review-next").is_visible()
    page.get_by_role("tab", name="Scenario editor").click()
    page.locator("#dojo-editor-notice").get_by_text("for trainers and admins").wait_for(timeout=30_000)
    assert not page.locator("#dojo-edit-open").is_visible()
    page.get_by_role("tab", name="Practice").click()

    page.locator("#dojo-scenario input").click()
    page.get_by_role("option", name="Live chat · level 1 · Live chat: the parcel that never came").click()
    page.locator("#dojo-start").click()
    page.locator("#dojo-record").get_by_text("Priya Raman").wait_for(timeout=60_000)
    page.locator("#dojo-reply textarea").fill(GOOD)
    page.locator("#dojo-send").click()
    page.locator("#dojo-scorecard").get_by_text("Scorecard").wait_for(timeout=60_000)
    assert "First response time" in page.locator("#dojo-scorecard").inner_text()

    page.get_by_role("tab", name="Progress").click()
    page.locator("#dojo-progress-show").click()
    summary = page.locator("#dojo-progress-summary")
    summary.get_by_text("ana: 1 session, 1 scored reply").wait_for(timeout=60_000)
    assert "Next:" in summary.inner_text()
    # the new point: its number, date, scenario and channel in words
    assert re.search(r"\b1\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+Live chat: the parcel that never came\s+Live chat\s",
                     summary.inner_text())
    page.locator("#dojo-progress-plot svg.dojo-progress-chart").wait_for(timeout=30_000)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Another agent's progress: refused on the server, shown as an error in the page.
    page.locator("#dojo-progress-agent input").fill("ben")
    page.locator("#dojo-progress-agent input").press("Enter")
    page.locator("#dojo-progress-show").click()
    page.get_by_text("You can see only your own progress.").first.wait_for(timeout=30_000)
    assert "ana: 1 session," in summary.inner_text()  # nothing of ben's was shown
    page.close()
