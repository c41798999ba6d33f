"""缴存人信息变更 (ch. 9) as the people do it: the operator chooses a member, edits three items into the
待变更清册, cancels one with the cross at its number and saves; the center returns it with an opinion;
the operator finds it with its rows kept and the opinion shown, corrects it and resubmits into the same
process; the center approves; the change shows in 12.2 and the employer is messaged."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.integration.helpers import center_api, wait_for

from .login_support import login_center, login_employer
from .member_support import pick_member, run_query, wait_for_text

# The demo employer's last normal member: the seal and unseal tests take the first forty.
MEMBER = [m for m in demo.members() if m["status"] == "01"][-1]


def _reload_until(page: Page, selector: str, what: str) -> None:
    for _ in range(100):  # the state arrives through Redis and the workers
        if page.locator(selector).count():
            return
        page.wait_for_timeout(300)
        page.reload()
    raise AssertionError(f"timed out waiting for {what}")


def _open_task(stack: Stack, seen: set[int]) -> dict[str, Any] | None:
    items = center_api(stack).get("workflow", "/tasks", status="open", scope="all", business_type="member_change",
                                  per_page=100)["items"]
    # The member has one pending change at a time: the open task of this type for the employer is it.
    return next((i for i in items if i["task"]["id"] not in seen
                 and i["instance"]["employer_no"] == demo.EMPLOYER_NO), None)


def test_member_change_cancelled_row_returned_corrected_resubmitted_approved(browser: Browser, stack: Stack) -> None:
    employer = browser.new_page(viewport={"width": 1280, "height": 900})
    login_employer(employer, stack)
    employer.get_by_role("link", name="缴存人信息变更").click()
    pick_member(employer, MEMBER["member_no"], MEMBER["member_no"])
    employer.get_by_role("button", name="选择", exact=True).click()
    # The member echoed: greyed items are shown, not editable.
    expect(employer.get_by_label("姓名", exact=True).last).to_be_disabled()
    expect(employer.get_by_label("证件号码", exact=True).last).to_have_value(MEMBER["id_number"])

    employer.get_by_label("学历").select_option("31")
    employer.get_by_label("固定电话").fill("0351-7654321")
    employer.get_by_label("职称").fill("助理工程师")
    rows = employer.locator("#roster tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("31 专科")
    # The cross at the row's number cancels it: the item is back to what it was.
    rows.filter(has_text="职称").get_by_role("button", name="✕").click()
    expect(rows).to_have_count(2)
    expect(employer.get_by_label("职称")).to_have_value("")
    employer.get_by_role("button", name="保存").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")
    expect(employer.locator("#pending-roster tbody tr")).to_have_count(2)
    expect(employer.locator("#request-state")).to_contain_text("缴存人存在未审批完成的变更业务")

    first = wait_for(lambda: _open_task(stack, set()), what="the review task")
    admin = browser.new_page()
    login_center(admin, stack)
    admin.goto(stack.url("gateway") + f"/admin/tasks/{first['task']['id']}")
    expect(admin.locator("#business-rows")).to_contain_text("31 专科")
    expect(admin.locator("#business-rows")).not_to_contain_text("助理工程师")
    admin.get_by_label("审批意见").fill("学历应为本科")
    admin.get_by_role("button", name="退回").click()
    expect(admin.get_by_role("alert").first).to_have_text("已退回至单位修改")

    # The page lists it as returned; 修改 opens it editable, its rows kept and the opinion shown.
    employer.goto(stack.url("gateway") + "/members/change")
    _reload_until(employer, "#pending-changes tr:has-text('已退回')", "the returned change")
    employer.locator("#pending-changes tr", has_text=MEMBER["member_no"]).get_by_role("link", name="修改").click()
    expect(employer.locator("#return-opinion")).to_have_text("学历应为本科")
    expect(employer.get_by_label("学历")).to_have_value("31")
    expect(employer.get_by_label("固定电话")).to_have_value("0351-7654321")
    expect(employer.locator("#roster tbody tr")).to_have_count(2)
    employer.get_by_label("学历").select_option("21")
    expect(employer.locator("#roster tbody tr").first).to_contain_text("21 本科")
    employer.get_by_role("button", name="重新提交").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")
    expect(employer.locator("#pending-roster")).to_contain_text("21 本科")

    second = wait_for(lambda: _open_task(stack, {first["task"]["id"]}), what="the review task again")
    assert second["instance"]["id"] == first["instance"]["id"]  # the same process instance
    admin.goto(stack.url("gateway") + f"/admin/tasks/{second['task']['id']}")
    expect(admin.locator("#business-rows")).to_contain_text("21 本科")
    admin.get_by_label("审批意见").fill("同意")
    admin.get_by_role("button", name="通过", exact=True).click()
    expect(admin.get_by_role("alert").first).to_have_text("审批完成")

    # 12.2 shows the applied change; the employer's 消息 says it is done.
    results = run_query(employer, stack, "缴存人客户信息变更查询", member=(MEMBER["member_no"], MEMBER["member_no"]))
    wait_for_text(employer, results, "学历", "21 本科")
    rows_found = employer.locator("#query-results tbody tr")
    expect(rows_found.filter(has_text="固定电话")).to_contain_text("0351-7654321")
    expect(rows_found.filter(has_text="职称")).to_have_count(0)
    employer.goto(stack.url("gateway") + "/?box=message")
    wait_for_text(employer, employer.locator("#inbox-message tbody tr"), "您已完成办理缴存人信息变更")
