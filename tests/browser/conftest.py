"""Playwright driving Debian's Chromium (no browser download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


# Report every Content-Security-Policy violation as a console error the test can see; an init script
# runs outside the page's CSP, so it reports even what the policy blocks.
_REPORT_CSP = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")));"""


def _fault(page: Page, message: ConsoleMessage) -> bool:
    """A console message a user's browser shows as the page's fault: a CSP violation, or a file the page
    asks for that the hall does not have (a missing icon, script or style); a page that is itself a 404
    is the test's business."""
    text = message.text
    missing_file = "the server responded with a status of 404" in text and message.location.get("url") != page.url
    return "Content Security Policy" in text or text.startswith("CSP violation") or missing_file


@pytest.fixture(autouse=True)
def no_csp_violation(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page a browser test opens must run without a CSP violation (the pages' scripts are files),
    without an uncaught script error and without asking for a file that is not there."""
    violations: list[str] = []
    new_page = browser.new_page

    def watched_page(*args: Any, **kwargs: Any) -> Page:
        page = new_page(*args, **kwargs)
        page.add_init_script(_REPORT_CSP)
        page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}") if _fault(page, msg) else None)
        page.on("pageerror", lambda error: violations.append(f"{page.url}: script error: {error}"))
        return page

    monkeypatch.setattr(browser, "new_page", watched_page)
    yield violations
    assert violations == []
