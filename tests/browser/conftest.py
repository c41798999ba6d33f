"""Playwright driving Debian's Chromium (no browser download), and the checks every page a browser
test opens goes through: no CSP violation, no script error, no missing file, and axe-core's
accessibility rules (WCAG 2.1 AA and axe's best practices) with no serious or critical violation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Request, Route, sync_playwright

# The npm package axe-core (package.json); `make deps` installs it with bpmn-js.
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What is not ours: bpmn-js draws the diagram's shapes and its own palette/context pad inside
# .djs-container (SVG internals and its icon buttons); our markup around the canvas is checked.
AXE_EXCLUDE = [".djs-container"]
_AXE_RUN = """async (exclude) => {
  const result = await axe.run({include: [document], exclude: exclude.map((s) => [s])},
                               {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) =>
    `${v.impact} ${v.id} (${v.help}): ` + v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(" | "));
}"""


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


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (its document, not
    bpmn-js's canvas internals). axe is evaluated through the DevTools protocol, which the page's CSP
    does not govern, so the pages need no exception for it."""
    if not page.url.startswith("http"):
        return []
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    found: list[str] = page.evaluate(_AXE_RUN, AXE_EXCLUDE)
    return [f"{page.url}: axe {v}" for v in found]


def check_a11y(page: Page) -> None:
    """For a test that changes a page without leaving it (a dialog, a row added by script): check now."""
    found = axe_violations(page)
    assert found == [], "\n".join(found)


def _check_quietly(page: Page, violations: list[str]) -> None:
    try:
        violations.extend(axe_violations(page))
    except Error as exc:  # the page went away meanwhile (its own script navigated, the test closed it)
        if "destroyed" not in str(exc) and "closed" not in str(exc):
            raise


@pytest.fixture(autouse=True)
def no_csp_violation(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page a browser test opens must run without a CSP violation (the pages' scripts are files),
    without an uncaught script error, without asking for a file that is not there, and without a
    serious or critical accessibility violation: each document is checked with axe-core just before
    the browser leaves it (a link, a form, a script or the test navigating) and the last one at the
    end of the test, so every page the tests visit is checked in the state the test left it."""
    violations: list[str] = []
    pages: list[Page] = []
    new_page = browser.new_page

    def leaving(page: Page, route: Route, request: Request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            _check_quietly(page, violations)
        route.fallback()

    def watched_page(*args: Any, **kwargs: Any) -> Page:
        page = new_page(*args, **kwargs)
        pages.append(page)
        page.add_init_script(_REPORT_CSP)
        page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}") if _fault(page, msg) else None)
        page.on("pageerror", lambda error: violations.append(f"{page.url}: script error: {error}"))
        page.route("**/*", lambda route, request: leaving(page, route, request))
        return page

    monkeypatch.setattr(browser, "new_page", watched_page)
    yield violations
    for page in pages:
        if not page.is_closed():
            _check_quietly(page, violations)
            page.close()
    assert violations == [], "\n".join(violations)
