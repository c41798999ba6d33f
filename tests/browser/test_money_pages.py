"""The money as the employer's operator meets it in the browser, against the real stack: a bank's receipt
(posted with a service token) reaches the unallocated amount; a 补缴 entered on its page (录入, 提交) is
approved by the center and paid from it; 单位信息查询's 业务流水 finds it as type 补缴 with its 明细, whose
print carries a verification code the public 验证 page (no login) accepts and an altered one it refuses;
数据下载 opens with the member's row; and 零余额销户 tells the demo employer exactly why it cannot close."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal

import httpx
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack
from tests.integration.helpers import center_api, wait_for

from .login_support import login_center
from .member_support import DEMO_MEMBERS, alert, download, navigating_click, open_page, pick_member, workbook

# A normal member no other browser test pays for (the 补缴 of a month is once per member).
MEMBER = DEMO_MEMBERS[140]
assert MEMBER["status"] == "01"
AMOUNT = Decimal("1234.56")
CODE = re.compile(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}")


def _post_receipt(stack: Stack, amount: Decimal) -> None:
    """The bank's receipt of exactly what this test pays out, so the demo's unallocated amount ends as
    it began for the tests after this one."""
    token = subprocess.run([sys.executable, "-m", "services.auth.service_tokens", "issue", "bank-browser-test",
                            "--permission", "receipt_post", "--days", "1"], cwd=ROOT, env=stack.env(),
                           capture_output=True, text=True, check=True).stdout.strip()
    posted = httpx.post(stack.url("payment") + "/receipts", headers={"Authorization": f"Bearer {token}"}, json={
        "bank_reference": f"BROWSER-{uuid.uuid4().hex[:12]}", "employer_no": demo.EMPLOYER_NO,
        "amount": str(amount), "received_on": date.today().isoformat(), "memo": "补缴款"}, timeout=10)
    assert posted.status_code == 201, posted.text


def _approve_newest_supplement(stack: Stack, before: set[int]) -> None:
    center = center_api(stack)

    def new_task() -> dict[str, object] | None:
        rows = center.get("workflow", "/tasks", status="open", business_type="supplementary_payment",
                          per_page=100)["items"]
        fresh = [row for row in rows if row["task"]["id"] not in before]
        return fresh[0] if fresh else None

    task = wait_for(new_task, what="the center's task of the 补缴")
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",  # type: ignore[index]
                       json={"decision": "approve", "opinion": "同意补缴"})
    assert done.status_code == 200, done.text


def _open_tasks(stack: Stack) -> set[int]:
    rows = center_api(stack).get("workflow", "/tasks", status="open", business_type="supplementary_payment",
                                 per_page=100)["items"]
    return {row["task"]["id"] for row in rows}


def test_a_supplement_is_paid_found_in_the_journal_printed_verified_and_downloaded(
        browser: Browser, stack: Stack) -> None:
    _post_receipt(stack, AMOUNT)
    page = open_page(browser, stack, "/")
    page.get_by_role("link", name="补缴", exact=True).click()
    expect(page.get_by_role("heading", name="补缴", level=1)).to_be_visible()
    expect(page.get_by_text(re.compile("本单位未分配金额："))).to_be_visible()

    pick_member(page, MEMBER["member_no"], MEMBER["member_no"])
    expect(page.locator("#echo-name")).to_have_value(MEMBER["name"])
    page.locator("#field-reason").select_option("漏缴补缴")
    page.locator("#field-month").fill("202403")
    page.locator("#field-amount").fill(str(AMOUNT))
    navigating_click(page, page.locator("#entry-submit"))
    expect(alert(page)).to_contain_text("录入成功，补缴金额1234.56元")
    expect(page.locator("#roster tbody tr[data-row-id]", has_text=MEMBER["member_no"])).to_be_visible()
    before = _open_tasks(stack)
    navigating_click(page, page.locator("#commit"))
    expect(alert(page)).to_contain_text("补缴清册已提交中心审核")
    _approve_newest_supplement(stack, before)

    # 单位信息查询 -> 单位业务流水查询, type 补缴: the booking, once the approval is applied.
    page.goto(stack.url("gateway") + "/")
    page.get_by_role("link", name="单位信息查询", exact=True).click()
    page.locator("a[data-tab='journal']").click()
    page.locator("#filter-detail_type").select_option("02")
    rows = page.locator("#query-results tbody tr")
    for _ in range(60):
        navigating_click(page, page.locator("#query-submit"))
        if rows.filter(has_text="1234.56").count():
            break
        page.wait_for_timeout(500)
    booked = rows.filter(has_text="1234.56").first
    expect(booked).to_contain_text("补缴")
    navigating_click(page, booked.locator("a.row-link"))
    expect(page.get_by_role("heading", name="单位业务明细", level=2)).to_be_visible()
    line = page.locator("#query-results tbody tr", has_text=MEMBER["member_no"])
    expect(line).to_contain_text(MEMBER["name"])
    expect(line).to_contain_text("1234.56")

    # 打印: the PDF the browser opens, its text read back, with its verification code.
    pdf = page.request.get(stack.url("gateway") + (page.locator("#print").get_attribute("href") or ""))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "单位业务明细" in text and MEMBER["member_no"] in text and "1234.56" in text
    found = CODE.search(text)
    assert found, text
    code = found.group(0)

    # 数据下载: the same rows as xlsx.
    data, name = download(page, page.locator("#download"))
    assert name.endswith(".xlsx")
    cells = [[str(c) for c in row if c is not None] for row in workbook(data).worksheets[0].iter_rows(values_only=True)]
    assert any(MEMBER["member_no"] in row and "1234.56" in row for row in cells), cells

    # The public 验证 page, in a browser with no session: the code shows the document; altered, refused.
    visitor = browser.new_page()
    visitor.goto(stack.url("gateway") + "/verify")
    visitor.get_by_label("验证码").fill(code)
    navigating_click(visitor, visitor.get_by_role("button", name="验证"))
    expect(visitor.locator("#verify-employer-no")).to_have_text(demo.EMPLOYER_NO)
    expect(visitor.locator("#verify-kind")).to_have_text("业务明细")
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    visitor.get_by_label("验证码").fill(altered)
    navigating_click(visitor, visitor.get_by_role("button", name="验证"))
    expect(visitor.locator("#verify-message")).to_contain_text("不存在或已被篡改")
    expect(visitor.locator("#verify-result")).to_have_count(0)
    visitor.close()

    # 零余额销户: the demo employer has money and members, and is told so.
    page.goto(stack.url("gateway") + "/")
    page.get_by_role("link", name="零余额销户", exact=True).click()
    expect(page.locator("#closure-state")).to_have_text("当前不满足零余额销户条件：")
    blockers = page.locator("#closure-blockers li")
    expect(blockers.first).to_contain_text("单位账户余额为")
    expect(page.locator("#closure-blockers li[data-kind='members']").first).to_contain_text("正常状态的缴存人")
    expect(page.locator("#closure-submit")).to_have_count(0)
    page.close()


def test_the_settled_year_shows_in_7_4_with_a_slip_that_verifies_and_the_console_shows_the_run(
        browser: Browser, stack: Stack) -> None:
    # The demo settled the last finished interest year (deploy/seed.py).
    today = date.today()
    year = today.year if today >= date(today.year, 7, 1) else today.year - 1
    page = open_page(browser, stack, "/employer/queries")
    page.locator("a[data-tab='link']", has_text="单位结息查询").click()
    expect(page.get_by_role("heading", name="单位结息查询", level=1)).to_be_visible()
    page.locator("#filter-year").select_option(str(year))
    navigating_click(page, page.locator("#query-submit"))
    rows = page.locator("#query-results tbody tr")
    expect(rows.first).to_contain_text(f"{year - 1}-{year}年度结息")
    slip = page.request.get(stack.url("gateway") + (page.locator("#slip").get_attribute("href") or ""))
    assert slip.ok and slip.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.body())).pages)
    assert "利息单" in text and demo.EMPLOYER_NAME in text
    found = CODE.search(text)
    assert found, text
    statement = page.request.get(stack.url("gateway") + (page.locator("#statement").get_attribute("href") or ""))
    statement_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(statement.body())).pages)
    assert "对账单" in statement_text and "期末余额" in statement_text
    statement_code = CODE.search(statement_text)
    assert statement_code, statement_text
    page.close()

    visitor = browser.new_page()
    for code, kind in ((found.group(0), "利息单"), (statement_code.group(0), "对账单")):
        visitor.goto(stack.url("gateway") + f"/verify?code={code}")  # as the QR code opens it
        expect(visitor.locator("#verify-kind")).to_have_text(kind)
        expect(visitor.locator("#verify-period")).to_have_text(f"{year - 1}-07-01 至 {year}-06-30")
    visitor.close()

    console = browser.new_page()
    login_center(console, stack)
    console.get_by_role("link", name="结息管理").click()
    run = console.locator(f"#interest-runs tr[data-year='{year}']")
    expect(run).to_have_attribute("data-status", "done")
    console.close()
