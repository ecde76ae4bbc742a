"""The practice, progress and review pages as a training team uses them, in a real browser.

Nothing starts by itself; the trainee's message shows at once while the customer types; the conversation
opens at its newest message; a refused reply says why next to the box, keeps the text and blocks nothing;
the channel's length limit holds; a conversation that ended unresolved reads so on the scorecard and takes
no more replies; a simulated send time goes back to "now"; progress is drawn when the page opens; a reviewer
reads the whole conversation and the customer record. Scripted customer (no models), made slow where the
test needs to see the page while the customer writes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dojo.services import Services
from simulator.backends import ScriptedBackend
from simulator.settings import Settings
from tests.conftest import served
from tests.e2e.conftest import ready

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "correct horse battery"
LATE_PARCEL = "Live chat · level 1 · Live chat: the parcel that never came"
WRONG_BOOTS = "hiking boots, wrong size"
DISMISSIVE = ["That's our policy, there's nothing I can do.", "Please check the website, it's all explained there.",
              "You'll have to wait like everyone else.", "I can't help with that.", "Okay, noted.", "No.",
              "Nothing more to add.", "Bye."]


class SlowScripted(ScriptedBackend):
    """The scripted customer, taking as long as a model would on a busy server."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def generate(self, request):
        time.sleep(self.seconds)
        return super().generate(request)


@pytest.fixture(scope="module")
def site(fast_services, new_database):
    services = Services(Settings(home=fast_services.settings.home, customer_backend="scripted", seed=7,
                                 database_url=new_database()), embedder_kind="hashing")
    for part in ("embedder", "rubric", "scorer"):
        services.__dict__[part] = getattr(fast_services, part)
    services.__dict__["backend"] = SlowScripted(2.0)
    for name, role in (("ana", "trainee"), ("rita", "reviewer")):
        services.db.add_user(name, role, PASSWORD)
    with served(services) as url:
        yield services, url


def login(browser, url: str, name: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.get_by_label(re.compile("username", re.I)).fill(name)
    page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("login", re.I)).click()
    page.locator("#dojo-who").get_by_text(name).wait_for(timeout=60_000)
    ready(page)
    return page


def start(page, label: str) -> None:
    page.locator("#dojo-scenario input").click()
    page.get_by_role("option", name=re.compile(re.escape(label))).click()
    page.locator("#dojo-start").click()
    page.locator("#dojo-conversation .dojo-msg").first.wait_for(timeout=60_000)


def no_error_overlay(page) -> None:
    """Nothing the trainee did shows as gradio's red error toast or an "Error" badge over a component."""
    assert page.locator(".toast-body").count() == 0
    assert not page.locator("#dojo-reply").get_by_text("Error", exact=True).is_visible()


def test_practice_page_echo_typing_scroll_inline_errors_limit_and_an_unresolved_ending(browser, site):
    _services, url = site
    page = login(browser, url, "ana")

    # Nothing starts by itself: a scenario is selected, the page waits for Start, Send is off.
    time.sleep(2)
    assert page.locator("#dojo-conversation .dojo-msg").count() == 0
    assert "press Start" in page.locator("#dojo-record").inner_text()
    expect(page.locator("#dojo-send")).to_be_disabled()
    page.locator("#dojo-resume").click()  # nothing picked to resume: said under the picker, nothing blocked
    expect(page.locator("#dojo-start-error")).to_contain_text("Not resumed: pick one of your unfinished sessions",
                                                              timeout=30_000)
    no_error_overlay(page)

    # Start: the customer writes, and the response timer starts now, not when the page opened.
    start(page, LATE_PARCEL)
    timer = page.locator("#dojo-conversation .dojo-timer-value")
    timer.wait_for(timeout=30_000)
    assert int(re.match(r"(\d+) s", timer.inner_text()).group(1)) <= 3

    # An empty Send: said next to the box; no overlay; the box takes text at once.
    page.locator("#dojo-send").click()
    expect(page.locator("#dojo-reply-error")).to_contain_text("Not sent: the reply is empty", timeout=30_000)
    no_error_overlay(page)
    page.locator("#dojo-reply textarea").click(timeout=3_000)

    # Over the live chat's 300 characters: refused with the count, the text stays in the box, nothing sent.
    long = "I'm so sorry about this. " * 16
    page.locator("#dojo-reply textarea").fill(long)
    page.locator("#dojo-send").click()
    expect(page.locator("#dojo-reply-error")).to_contain_text(
        f"the reply is {len(long.strip())} characters; a live chat reply is at most 300", timeout=30_000)
    assert page.locator("#dojo-reply textarea").input_value() == long
    assert page.locator("#dojo-conversation .dojo-bubble-row.agent").count() == 0
    no_error_overlay(page)

    # A reply shows at once, with the customer typing, while the (slow) customer writes its answer.
    reply = "I'm so sorry your parcel hasn't come. Could you give me the order number?"
    page.locator("#dojo-reply textarea").fill(reply)
    sent = time.monotonic()
    page.locator("#dojo-send").click()
    page.locator("#dojo-conversation .dojo-bubble-row.agent").get_by_text(reply).wait_for(timeout=1_500)
    assert time.monotonic() - sent < 1.8  # the customer takes 2 s: the echo did not wait for it
    assert page.locator("#dojo-conversation .dojo-typing").is_visible()
    assert page.locator("#dojo-conversation .dojo-bubble-row.customer").count() == 1
    assert page.locator("#dojo-reply-error").inner_text().strip() == ""
    page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(1).wait_for(timeout=30_000)
    assert page.locator("#dojo-conversation .dojo-typing").count() == 0
    page.locator("#dojo-feedback").get_by_text("Follow-up").wait_for(timeout=30_000)

    # Dismissive replies until the customer gives up or the turns run out; the view stays at its newest line.
    for text in DISMISSIVE:
        if page.locator("#dojo-conversation .dojo-ended").count():
            break
        customers = page.locator("#dojo-conversation .dojo-bubble-row.customer").count()
        page.locator("#dojo-reply textarea").fill(text)
        page.locator("#dojo-send").click()
        page.locator("#dojo-conversation .dojo-bubble-row.customer").nth(customers).wait_for(timeout=30_000)
    page.locator("#dojo-conversation .dojo-ended").wait_for(timeout=30_000)
    overflow, at_bottom = page.evaluate("""() => { const v = document.querySelector('#dojo-conversation .dojo-view');
        return [v.scrollHeight > v.clientHeight + 20, v.scrollTop + v.clientHeight >= v.scrollHeight - 4]; }""")
    assert overflow and at_bottom  # long enough to scroll, and scrolled to the customer's last line

    # The scorecard, beside the conversation, says how it really ended; Send is off.
    card = page.locator("#dojo-scorecard")
    card.get_by_text("Scorecard").wait_for(timeout=30_000)
    text = card.inner_text()
    assert "not resolved" in text and "max_turns" not in text
    csat = int(re.search(r"Simulated CSAT\s+(\d) / 5", text).group(1))
    mood = re.search(r"Customer's final mood\s+(\w+)", text).group(1)
    assert csat <= 2 and mood != "calm"
    box, conversation = card.bounding_box(), page.locator("#dojo-conversation").bounding_box()
    assert box["y"] < conversation["y"] + conversation["height"]  # beside it, not below the page's panels
    expect(page.locator("#dojo-send")).to_be_disabled()
    page.screenshot(path=str(DOCS / "screenshot-scorecard.png"), full_page=False)
    page.close()


def test_the_simulated_send_time_goes_back_to_now_after_each_send(browser, site):
    _services, url = site
    page = login(browser, url, "ana")
    start(page, WRONG_BOOTS)
    page.locator("#dojo-delay input").click()
    page.get_by_role("option", name="after 30 h").click()
    page.locator("#dojo-reply textarea").fill("I'm so sorry we sent the wrong size. Which size do you need?")
    page.locator("#dojo-send").click()
    late = page.locator("#dojo-conversation").get_by_text("answered after 34 h (over the 24 h standard)")
    late.wait_for(timeout=30_000)
    page.locator("#dojo-conversation .dojo-email.customer").nth(1).wait_for(timeout=30_000)
    expect(page.locator("#dojo-delay input")).to_have_value("now", timeout=30_000)
    page.close()


def test_progress_is_drawn_when_the_page_opens_and_a_reviewer_reads_the_whole_conversation(browser, site):
    services, url = site
    if not services.db.recent_replies():  # the tests above stored replies; on their own, store one
        services.reply(services.start_run("late-parcel-chat", agent="ana"), "So sorry! What's the order number?")
    page = login(browser, url, "ana")
    page.get_by_role("tab", name="Progress").click()
    chart = page.locator("#dojo-progress-plot svg.dojo-progress-chart")
    chart.wait_for(timeout=30_000)  # no "Show progress" pressed
    assert page.locator("#dojo-progress-plot polygon.dojo-band").count() == 4
    assert "#1" in chart.text_content() and "Empathy" in page.locator("#dojo-progress-plot").inner_text()
    summary = page.locator("#dojo-progress-summary").inner_text()
    assert "Live chat" in summary and "live_chat" not in summary
    page.close()

    reviewer = login(browser, url, "rita")
    reviewer.get_by_role("tab", name="Review").click()
    reviewer.locator("#dojo-review-next").click()
    shown = reviewer.locator("#dojo-review-reply")
    shown.get_by_text("The whole conversation").wait_for(timeout=30_000)
    assert "the reply under review" in shown.inner_text()
    assert "Priya Raman" in reviewer.locator("#dojo-review-record").inner_text()
    first = reviewer.locator("#dojo-review-reply").inner_text()
    reviewer.locator("#dojo-review-skip").click()  # skip: another reply, the skipped one remembered
    expect(reviewer.locator("#dojo-review-reply")).not_to_have_text(first, timeout=30_000)
    reviewer.screenshot(path=str(DOCS / "screenshot-review.png"), full_page=True)
    reviewer.close()
