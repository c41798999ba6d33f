"""Playwright driving Debian's Chromium (no browser download), and the checks every page a browser
test opens goes through: no CSP violation, no script error, no missing file, and axe-core's
accessibility rules (WCAG 2.1 AA and axe's best practices) with no serious or critical violation."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

# The npm package axe-core (package.json); `make deps` installs it with bpmn-js.
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Nothing is excluded: the designer's and the path viewer's bpmn-js canvases pass as they are. Should a
# later bpmn-js put violations of its own inside its canvas, ".djs-container" here excludes only that.
AXE_EXCLUDE: list[str] = []
REPORT_PATH = "/__a11y_report__"  # answered by the test's route, never reaches the gateway
_AXE_RUN = """async (exclude) => {
  const result = await axe.run({include: [document], exclude: exclude.map((s) => [s])},
                               {resultTypes: ["violations"]});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) =>
    `${v.impact} ${v.id} (${v.help}): ` + v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(" | "));
}"""
# In every top-level document: say it started, and once it has loaded (and bpmn-js has drawn) run axe
# and post what it found. Init scripts run outside the page's CSP; the posts are same-origin fetches.
_AXE_IN_PAGE = """(() => {
  if (window.top !== window || !/^https?:$/.test(location.protocol)) return;
  const doc = Math.random().toString(36).slice(2);
  const origin = performance.timeOrigin;
  const post = (body) => fetch("%(path)s", {method: "POST",
    body: JSON.stringify({doc, origin, url: location.href, ...body})}).catch(() => {});
  post({started: true});
  let settle;
  window.__a11yDone = new Promise((resolve) => { settle = resolve; });
  const run = async () => {
    let found;
    try {
      found = await Promise.race([(%(run)s)(%(exclude)s),
        new Promise((resolve) => setTimeout(() => resolve(["axe did not finish within 20 s"]), 20000))]);
    } catch (error) { found = ["axe could not run: " + error]; }
    settle();
    post({violations: found});
  };
  const start = () => setTimeout(run, 300);
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();"""


def _in_page_check() -> str:
    return AXE_SOURCE.read_text() + "\n" + _AXE_IN_PAGE % {
        "path": REPORT_PATH, "run": _AXE_RUN, "exclude": json.dumps(AXE_EXCLUDE)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A demo account's first login (the forced password change) can happen once per stack: the test
    that shows it runs before any other signs in, whatever the file names sort as."""
    items.sort(key=lambda item: item.get_closest_marker("first_login") is None)


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


def check_a11y(page: Page) -> None:
    """For a test that changes a page without leaving it (a dialog, a row added by script): check the
    page as it is now (after its own check on loading); serious and critical violations fail at once."""
    page.evaluate("() => window.__a11yDone")
    found: list[str] = page.evaluate(_AXE_RUN, AXE_EXCLUDE)
    assert found == [], "\n".join(f"{page.url}: axe {v}" for v in found)


class _A11yWatch:
    """One page's documents: each posts its axe result once loaded; a navigation away from a document
    not yet checked is held until its result is in, so every page the test visits is checked once
    loaded, however quickly the test moves on (check_a11y checks a page's later states). Nothing here
    blocks: Playwright cannot evaluate in a page while one of its navigations is held, so the page
    reports by itself."""

    def __init__(self, page: Page, violations: list[str]) -> None:
        self.page, self.violations = page, violations
        self.unchecked: dict[str, str] = {}  # the document whose result is awaited: id -> address
        self.checked: set[str] = set()  # documents reported (a report may overtake its "started")
        self.held: list[Route] = []
        self.newest = 0.0  # when the newest document that said it started began (performance.timeOrigin)
        page.add_init_script(_in_page_check())
        page.route("**/*", self.on_request)

    def on_request(self, route: Route, request: Request) -> None:
        if request.url.split("?")[0].endswith(REPORT_PATH):
            route.fulfill(status=204)
            self.on_report(json.loads(request.post_data or "{}"))
        elif self.unchecked and request.is_navigation_request() and request.frame == self.page.main_frame:
            self.held.append(route)
        else:
            route.fallback()

    def on_report(self, body: dict[str, Any]) -> None:
        doc = body["doc"]
        if body.get("started"):
            # A newer document replaces the page's earlier one, which can no longer report; a start that
            # arrives late from a document already replaced (a quick reload) is not waited for.
            if body["origin"] >= self.newest:
                self.newest = body["origin"]
                self.unchecked = {} if doc in self.checked else {doc: body["url"]}
            return
        self.checked.add(doc)
        self.violations.extend(f"{body['url']}: axe {v}" for v in body["violations"])
        self.unchecked.pop(doc, None)
        if not self.unchecked:
            held, self.held = self.held, []
            for waiting in held:
                waiting.fallback()

    def finish(self) -> None:
        """The last document: wait for its result (it posts within a few seconds of loading)."""
        for _ in range(100):
            if not self.unchecked or self.page.is_closed():
                break
            self.page.wait_for_timeout(100)
        if self.unchecked and not self.page.is_closed():
            self.violations.extend(f"{url}: axe did not report" for url in self.unchecked.values())


@pytest.fixture(autouse=True)
def no_csp_violation(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page a browser test opens must run without a CSP violation (the pages' scripts are files),
    without an uncaught script error, without asking for a file that is not there, and without a
    serious or critical accessibility violation: each document checks itself with axe-core once
    loaded, and the browser leaves no document before its result is in (_A11yWatch)."""
    violations: list[str] = []
    watches: list[_A11yWatch] = []
    new_page = browser.new_page

    def watched_page(*args: Any, **kwargs: Any) -> Page:
        page = new_page(*args, **kwargs)
        page.add_init_script(_REPORT_CSP)
        page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}") if _fault(page, msg) else None)
        page.on("pageerror", lambda error: violations.append(f"{page.url}: script error: {error}"))
        watches.append(_A11yWatch(page, violations))
        return page

    monkeypatch.setattr(browser, "new_page", watched_page)
    yield violations
    for watch in watches:
        watch.finish()
        if not watch.page.is_closed():
            watch.page.close()
    assert violations == [], "\n".join(violations)
