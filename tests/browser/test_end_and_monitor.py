"""结束流程 and the center's repairs as people do them: a returned change ended by the employer (after a
confirmation) leaves the page free for a new change; in 流程监控 a center admin finds the new one,
转办 its task to the reviewer and 终止 it with a reason, after which the employer may submit again."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.login_support import login_employer
from tests.browser.test_admin_console_page import login_center
from tests.browser.test_returned_change import _reload_until
from tests.integration.helpers import center_api, wait_for

EDITABLE = "#change-form button:has-text('提交审批')"


def test_end_a_returned_change_then_reassign_and_terminate_the_next(browser: Browser, stack: Stack) -> None:
    center = center_api(stack)

    def open_task(seen: set[int]) -> dict[str, Any] | None:
        items = center.get("workflow", "/tasks", status="open", scope="all", business_type="employer_change",
                           per_page=100)["items"]
        return next((i for i in items if i["task"]["id"] not in seen
                     and i["instance"]["employer_no"] == demo.EMPLOYER_NO), None)

    employer = browser.new_page()
    employer.on("dialog", lambda dialog: dialog.accept())
    login_employer(employer, stack)
    employer.get_by_role("link", name="单位信息变更").click()
    _reload_until(employer, EDITABLE, "no change pending")
    registered = employer.get_by_label("单位联系电话").input_value()
    employer.get_by_label("单位联系电话").fill("0351-7770001")
    employer.get_by_role("button", name="提交审批").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")

    first = wait_for(lambda: open_task(set()), what="the review task")
    admin = browser.new_page()
    admin.on("dialog", lambda dialog: dialog.accept())
    login_center(admin, stack)
    admin.goto(stack.url("gateway") + f"/admin/tasks/{first['task']['id']}")
    admin.get_by_label("审批意见").fill("联系电话有误")
    admin.get_by_role("button", name="退回").click()
    expect(admin.get_by_role("alert").first).to_have_text("已退回至单位修改")

    _reload_until(employer, "#return-opinion", "the returned change")
    employer.get_by_role("button", name="结束流程").click()
    expect(employer.get_by_role("alert").first).to_have_text("流程已结束，可重新办理单位信息变更")
    _reload_until(employer, EDITABLE, "the ended change to free the page")
    expect(employer.get_by_label("单位联系电话")).to_have_value(registered)  # the ended change was not applied
    employer.get_by_label("单位联系电话").fill("0351-7770002")
    employer.get_by_role("button", name="提交审批").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")

    second = wait_for(lambda: open_task({first["task"]["id"]}), what="the new review task")
    instance_id = second["instance"]["id"]
    assert instance_id != first["instance"]["id"]
    admin.get_by_role("link", name="流程监控").click()
    filters = admin.locator("#instance-filters")
    filters.get_by_label("单位账号").fill(demo.EMPLOYER_NO)
    filters.get_by_label("状态").select_option(label="审批中")
    filters.get_by_role("button", name="查询").click()
    rows = admin.locator("#instances tbody tr")
    expect(rows.filter(has_text="单位已结束")).to_have_count(0)  # the filter holds
    admin.locator(f'#instances tr[data-instance-id="{instance_id}"]').get_by_role("link", name="查看").click()
    expect(admin.locator("#instance-status")).to_have_text("审批中")
    expect(admin.locator("#diagram[data-rendered=true]")).to_be_attached()

    reassign = admin.locator("form.reassign")
    reassign.get_by_label("转办给").select_option(value=demo.REVIEWER_LOGIN)
    reassign.get_by_role("button", name="转办").click()
    expect(admin.get_by_role("alert").first).to_have_text(f"已转办给{demo.REVIEWER_NAME}")
    expect(admin.locator("form.reassign")).to_contain_text(f"当前办理人：{demo.REVIEWER_NAME}")

    admin.get_by_role("button", name="终止").click()  # no reason: the browser asks for one first
    expect(admin.locator("#instance-status")).to_have_text("审批中")
    admin.get_by_label("终止原因").fill("单位申请撤回")
    admin.get_by_role("button", name="终止").click()
    expect(admin.get_by_role("alert").first).to_have_text("流程已终止")
    expect(admin.locator("#instance-status")).to_contain_text("中心已终止")
    expect(admin.locator("#steps")).to_contain_text("单位申请撤回")

    _reload_until(employer, EDITABLE, "the terminated change to free the page")
    expect(employer.get_by_label("单位联系电话")).to_have_value(registered)
