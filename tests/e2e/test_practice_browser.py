"""A trainee in a real browser: opens the app, sees the customer's opening, replies, sees four verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import served
from tests.e2e.conftest import ready

pytestmark = [pytest.mark.browser, pytest.mark.real_models]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-practice.png"


@pytest.fixture(scope="module")
def url(real_services):
    with served(real_services) as url:
        yield url


def test_first_practice_turn_in_the_browser(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    customer = page.locator("#dojo-conversation .dojo-bubble-row.customer")  # the customer's messages
    ready(page)
    assert customer.count() == 0  # nothing starts by itself: the trainee presses Start
    page.locator("#dojo-scenario input").click()
    page.get_by_role("option", name="Live chat · level 1 · Live chat: the parcel that never came").click()
    page.locator("#dojo-start").click()
    record = page.locator("#dojo-record")
    record.get_by_text("Priya Raman").wait_for(timeout=60_000)
    customer.first.wait_for(timeout=90_000)
    opening = customer.first.inner_text().lower()  # the persona's style may slip one word ("pracel")
    assert customer.count() == 1 and sum(w in opening for w in ("parcel", "tracking", "monday")) >= 2, opening

    page.locator("#dojo-reply textarea").fill(
        "I'm so sorry your parcel is late, that's on us. I've reshipped it by express at no charge; it "
        "arrives tomorrow before noon. I'll message you here as soon as it's out for delivery.")
    page.locator("#dojo-send").click()
    feedback = page.locator("#dojo-feedback")
    feedback.get_by_text("Follow-up").wait_for(timeout=90_000)
    text = feedback.inner_text()
    for title in ("Empathy", "Ownership", "Solution", "Follow-up"):
        assert title in text
    assert customer.count() == 2
    # The knowledge base finds an article by what it means: "payment taken twice" is "double charges".
    page.locator("#dojo-kb").click()
    page.locator("#dojo-kb-query input, #dojo-kb-query textarea").first.fill("payment taken twice")
    page.locator("#dojo-kb-query input, #dojo-kb-query textarea").first.press("Enter")
    page.locator("#dojo-kb-results").get_by_text("Billing errors and double charges").first.wait_for(timeout=60_000)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
