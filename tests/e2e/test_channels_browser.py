"""Each channel looks like itself in a real browser: the scenario picker's filters, an email thread with
its subject and dates, live chat with a running response-time timer, a bot hand-off that starts late, a
public post with its character count. Scripted customer (no models): this is about the page."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import served
from tests.e2e.conftest import ready

pytestmark = pytest.mark.browser
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-channels.png"


@pytest.fixture(scope="module")
def url(fast_services):
    with served(fast_services) as url:
        yield url


def pick(page, channel: str, level: str, scenario_label: str) -> list[str]:
    """Filters the picker, checks the list follows, picks a scenario and starts it; returns the list."""
    for box, value in (("#dojo-filter-channel", channel), ("#dojo-filter-level", level)):
        page.locator(f"{box} input").click()
        page.get_by_role("option", name=value, exact=True).click()
    number = level.split(":")[0].lower()  # "Level 2: average" -> "level 2"
    page.wait_for_function("([c, n]) => document.querySelector('#dojo-scenario input').value.startsWith(c + ' · ' + n)",
                           arg=[channel, number], timeout=30_000)
    page.locator("#dojo-scenario input").click()
    options = page.locator("#dojo-scenario [role=option]")
    options.first.wait_for(timeout=30_000)
    labels = [t.replace("✓", "").strip() for t in options.all_inner_texts()]
    page.get_by_role("option", name=re.compile(re.escape(scenario_label))).click()
    page.locator("#dojo-start").click()
    return labels


def test_the_picker_filters_and_each_channel_has_its_own_view(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    ready(page)
    assert page.locator("#dojo-conversation .dojo-view").count() == 0  # nothing starts by itself

    # Email: only email scenarios are offered; the thread has a subject, dates, and a simulated clock.
    labels = pick(page, "Email", "Level 2: average", "hiking boots, wrong size")
    assert labels and all(label.startswith("Email · level 2 · ") for label in labels)
    email = page.locator("#dojo-conversation .dojo-email")
    email.first.wait_for(timeout=30_000)
    assert "Subject:" in email.first.inner_text() and "Date:" in email.first.inner_text()
    assert "Waiting since it was sent" in page.locator("#dojo-conversation .dojo-timer-static").inner_text()
    page.locator("#dojo-delay input").click()
    page.get_by_role("option", name="after 30 h").click()
    page.locator("#dojo-reply textarea").fill("I'm so sorry we sent the wrong size. Which size do you need?")
    page.locator("#dojo-send").click()
    # It waited 4 h before the trainee opened it, and went out 30 h later: 34 h, over the 24 h standard.
    page.locator("#dojo-conversation").get_by_text("answered after 34 h (over the 24 h standard)").wait_for(
        timeout=30_000)
    assert email.count() >= 2

    # Live chat: bubbles, and a timer that runs while the customer waits.
    pick(page, "Live chat", "Level 1: patient, volunteers details", "parcel that never came")
    timer = page.locator("#dojo-conversation .dojo-timer .dojo-timer-value")
    timer.wait_for(timeout=30_000)
    page.locator("#dojo-conversation .dojo-bubble-row.customer").first.wait_for(timeout=30_000)
    first = int(re.match(r"(\d+) s", timer.inner_text()).group(1))
    time.sleep(2.5)
    assert int(re.match(r"(\d+) s", timer.inner_text()).group(1)) >= first + 2
    assert "dojo-late" not in page.locator("#dojo-conversation .dojo-timer").get_attribute("class")

    # A bot hand-off the customer queued 90 s for: the bot's conversation is there and the timer is red.
    pick(page, "Bot hand-off", "Level 3: impatient, escalates fast", "the engineer never came")
    page.locator("#dojo-conversation .dojo-bot-history").wait_for(timeout=30_000)
    assert "Transferred to you" in page.locator("#dojo-conversation").inner_text()
    assert "dojo-late" in page.locator("#dojo-conversation .dojo-timer").get_attribute("class")

    # A public post: a warning that everyone reads it, and a live count of the reply against 280.
    pick(page, "Public social post", "Level 3: impatient, escalates fast", "still no refund")
    page.locator("#dojo-conversation .dojo-public-warning").wait_for(timeout=30_000)
    page.locator("#dojo-reply textarea").fill("x" * 300)
    count = page.locator("#dojo-conversation .dojo-charcount")
    page.wait_for_function("() => document.querySelector('.dojo-charcount-value').textContent === '300'")
    assert "dojo-late" in count.get_attribute("class")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
