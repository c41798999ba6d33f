"""What the member page tests share: the people they register (resident IDs no other test uses), the
pages opened logged in, files downloaded and uploaded as a person does it, and a query run through its
tab with the type-ahead."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from playwright.sync_api import Browser, FilePayload, Locator, Page, expect
from pypdf import PdfReader
from stdnum.cn import ric

from deploy import demo_data as demo
from deploy.stack import Stack

from .login_support import login_employer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKING = re.compile(r"^(queued|running)$")
# The heavy worker checks a file of 1,500 rows in seconds; on a busy machine it may take longer.
CHECK_TIMEOUT = 120_000
# The first demo employer's members (40 normal, then 6 sealed) that only these tests seal and unseal.
DEMO_MEMBERS = demo.members()


def resident_id(index: int) -> str:
    """A valid resident ID (birthplace 130102, born 1985-01-01 + index days): the integration tests'
    people are born in 1975-1979, the demo's in 140105, so none collides."""
    body = f"130102{date(1985, 1, 1) + timedelta(days=index):%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function expects a placeholder check digit


def wrong_check(id_number: str) -> str:
    """The same ID with another check character: the ID's own rule refuses it."""
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def open_page(browser: Browser, stack: Stack, path: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    login_employer(page, stack)
    page.goto(stack.url("gateway") + path)
    return page


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def download(page: Page, link: Locator) -> tuple[bytes, str]:
    """Click a link the browser saves as a file: its bytes and the name it is saved under."""
    with page.expect_download() as info:
        link.click()
    saved = info.value
    path = saved.path()
    assert path is not None, saved.failure()
    with open(path, "rb") as handle:
        return handle.read(), saved.suggested_filename


def workbook(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    """A printed PDF's text, read with pypdf (a test dependency): never an optional tool whose absence
    would let the check pass unseen."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def filled(template: bytes, lines: list[list[Any]]) -> bytes:
    """The downloaded template with ``lines`` typed under its header, saved as Excel saves it."""
    book = workbook(template)
    sheet: Worksheet = book.worksheets[0]
    for line in lines:
        sheet.append(line)
    return saved(book)


def saved(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def choose_file(page: Page, content: bytes, name: str) -> None:
    chosen: FilePayload = {"name": name, "mimeType": XLSX, "buffer": content}
    page.locator("#import-file").set_input_files(files=[chosen])


def navigating_click(page: Page, target: Locator) -> None:
    """Click what sends the page elsewhere (a form that answers with a redirect back to the same
    address) and return once the next page has loaded, not while the old one still shows."""
    with page.expect_event("load"):
        target.click()


def upload(page: Page, content: bytes, name: str) -> None:
    choose_file(page, content, name)
    navigating_click(page, page.locator("#upload"))


def wait_checked(page: Page) -> None:
    """Until the page shows the import's result: it reloads itself once the check is over (an import
    with no error is added at once and leaves the page with no current import)."""
    current = page.locator("#import-current")
    expect(current.and_(page.locator("[data-status=queued], [data-status=running]"))).to_have_count(
        0, timeout=CHECK_TIMEOUT)


def roster_total(page: Page) -> int:
    """The roster's row count as the page says it: its pager (more than one page) or its rows."""
    pager = page.locator("nav.pager span")
    if pager.count():
        found = re.search(r"共(\d+)条", pager.inner_text())
        assert found, pager.inner_text()
        return int(found.group(1))
    return page.locator("#roster tbody tr[data-row-id]").count()


def pick_member(page: Page, typed: str, member_no: str) -> None:
    """The type-ahead: type part of a name or number, choose the member among the matches."""
    page.wait_for_load_state()  # the page's script listens for the typing once it has run
    page.locator("#member-picker").fill(typed)
    match = page.locator(f'#member-matches button[data-member-no="{member_no}"]')
    expect(match).to_be_visible()
    match.click()
    expect(page.locator("#member-no")).to_have_value(member_no)


def run_query(page: Page, stack: Stack, tab_title: str, member: tuple[str, str] | None = None,
              **filters: str) -> Locator:
    """缴存人信息查询: the tab, its filters (``member``: what to type in the type-ahead and the member
    number to choose), 查询; the result rows."""
    page.goto(stack.url("gateway") + "/members/query")
    tab = page.locator("a[data-tab]", has_text=tab_title)
    name = tab.get_attribute("data-tab")
    tab.click()
    expect(page).to_have_url(re.compile(rf"tab={name}$"))  # the tab's own page, not the one it left
    expect(page.get_by_role("heading", name=tab_title, level=2)).to_be_visible()
    if member:
        pick_member(page, *member)
    for key, value in filters.items():
        field = page.locator(f"#filter-{key}")
        if key == "change_type":
            field.select_option(value)
        else:
            field.fill(value)
    page.locator("#query-submit").click()
    expect(page.locator("#query-results")).to_be_visible()
    return page.locator("#query-results tbody tr")


def wait_for_text(page: Page, rows: Locator, *texts: str, attempts: int = 60) -> Locator:
    """Reload until a row shows every text (a business is applied by the workflow's events)."""
    found = rows
    for text in texts:
        found = found.filter(has_text=text)
    for _ in range(attempts):
        if found.count():
            return found
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"no row with {texts} on {page.url}")
