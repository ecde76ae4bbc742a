"""Markup and script in a scenario and in a trainee's reply show as text in a real browser and never run."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import ROOT, served
from tests.e2e.conftest import ready

pytestmark = pytest.mark.browser
NAME = '<img src=x onerror="window.__xss=1">Priya'
OPENING = "<script>window.__xss=2</script> Where is my parcel?"
REPLY = '<img src=x onerror="window.__xss=3"> <svg onload="window.__xss=4"></svg> Sorry! <b>not bold</b>'


@pytest.fixture(scope="module")
def url(fast_services, tmp_path_factory):
    library = tmp_path_factory.mktemp("hostile") / "scenarios"
    shutil.copytree(ROOT / "scenarios", library)
    path = library / "late-parcel-chat.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  name: Priya Raman", f"  name: '{NAME}'\n  style: []")  # the opening as written
    text = text.replace('  says: "Hi, my parcel was supposed to arrive on Monday and it still hasn\'t come. The '
                        'tracking hasn\'t changed in four days. Where is it?"', f'  says: "{OPENING}"')
    text = re.sub(r"(?m)^  also_says:\n(    - .*\n)+", "", text, count=1)  # the opening's other wordings
    assert NAME in text and OPENING in text
    path.write_text(text, encoding="utf-8")
    with served(fast_services.with_scenarios(library)) as address:
        yield address


def test_script_payloads_are_shown_as_text_and_never_run(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    ready(page)
    page.locator("#dojo-scenario input").click()
    page.get_by_role("option", name="Live chat · level 1 · Live chat: the parcel that never came").click()
    page.locator("#dojo-start").click()
    conversation = page.locator("#dojo-conversation")
    conversation.get_by_text(OPENING).wait_for(timeout=60_000)  # the script tag, as text
    assert NAME in page.locator("#dojo-record").inner_text() and NAME in conversation.inner_text()
    page.locator("#dojo-reply textarea").fill(REPLY)
    page.locator("#dojo-send").click()
    conversation.get_by_text("not bold</b>", exact=False).wait_for(timeout=60_000)
    assert REPLY in conversation.inner_text()
    page.wait_for_timeout(1000)  # give any handler that could fire the time to fire
    assert page.evaluate("window.__xss") is None
    assert conversation.locator("img, svg, script").count() == 0
    page.close()
