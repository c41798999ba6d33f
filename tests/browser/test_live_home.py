"""The open home page kept current: the center approves a business and the employer's page shows the
new 消息 count and the message without a reload, with the tone unless 关闭音效; another employer's open
page hears nothing. The tone is observed through HTMLMediaElement.play (a spy installed before the
page's scripts), as audio itself cannot be heard here."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.login_support import sign_in
from tests.integration.helpers import center_api, employer_api, open_task_for, submit_change

# Counts the audible plays (the page primes the element with a muted play on the first click).
SPY = """(() => {
  window.__played = 0;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!this.muted) window.__played += 1;
    return play.call(this);
  };
})();"""


def open_home(browser: Browser, stack: Stack, employer_no: str) -> Page:
    """Log in with the account that manages both demo employers and open the chosen one's home page."""
    page = browser.new_page()
    page.add_init_script(SPY)
    sign_in(page, stack, employer_no)
    expect(page.locator(".tabs [data-box=message]")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live-state", "open")
    page.evaluate("window.__same_page = true")  # gone if the page reloads
    return page


def message_count(page: Page) -> int:
    return int(page.locator(".tabs [data-box=message] .count").inner_text())


def test_a_message_appears_on_the_open_page_with_its_tone_and_nowhere_else(browser: Browser, stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)

    def approve() -> int:
        submitted = submit_change(employer, {"address": f"太原市小店区实时路{time.monotonic_ns() % 100000}号"})
        assert submitted.status_code == 201, submitted.text
        task = open_task_for(center, submitted.json()["request"]["id"])
        done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                           json={"decision": "approve", "opinion": "同意"})
        assert done.status_code == 200, done.text
        return int(submitted.json()["request"]["id"])

    page = open_home(browser, stack, demo.EMPLOYER_NO)
    other = open_home(browser, stack, demo.SECOND_EMPLOYER_NO)
    if page.locator("#sound-toggle").inner_text() == "开启音效":  # a sound preference left by another test
        page.locator("#sound-toggle").click()
        expect(page.locator("html")).to_have_attribute("data-live-state", "open")
        page.evaluate("window.__same_page = true")
    page.locator("#employer-name").click()  # the first click of the session unlocks audio
    count, other_count = message_count(page), message_count(other)

    request_id = approve()
    rows = page.locator("#inbox-message tbody tr")
    expect(page.locator(".tabs [data-box=message] .count")).to_have_text(str(count + 1), timeout=60_000)
    newest = employer.get("notify", f"/employers/{demo.EMPLOYER_NO}/inbox/message", per_page=1)["items"][0]
    assert newest["business_id"] == str(request_id)
    expect(rows.first.get_by_role("link", name="查看")).to_have_attribute("href", f"/inbox/{newest['id']}")
    expect(rows.first).to_contain_text("单位信息变更")
    assert page.evaluate("window.__same_page") is True  # no reload
    page.wait_for_function("window.__played === 1")
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__played") == 1  # once for one new message

    # The other employer's open page heard nothing: same count, no refresh, no tone.
    assert message_count(other) == other_count
    assert other.evaluate("window.__played") == 0
    assert other.locator("html").get_attribute("data-live-refreshed") is None
    assert other.evaluate("window.__same_page") is True

    # 关闭音效: the next message updates the page silently.
    page.locator("#sound-toggle").click()
    expect(page.locator("#sound-toggle")).to_have_text("开启音效")
    expect(page.locator("html")).to_have_attribute("data-live-state", "open")
    page.evaluate("window.__same_page = true")
    page.locator("#employer-name").click()
    approve()
    expect(page.locator(".tabs [data-box=message] .count")).to_have_text(str(count + 2), timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__played") == 0
    assert page.evaluate("window.__same_page") is True
    page.locator("#sound-toggle").click()  # as the account was
    expect(page.locator("#sound-toggle")).to_have_text("关闭音效")
