"""退回 and 重新提交 as the people do it: the center returns an employer change with an opinion; the
employer finds it editable with its data kept and the opinion shown, corrects it and resubmits into
the same process; the center approves; the path shows the flows taken and every step."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.test_admin_console_page import login_center
from tests.browser.test_employer_change_page import login_employer
from tests.integration.helpers import center_api, wait_for

FIRST, CORRECTED = "山西省太原市小店区长风街1号", "山西省太原市小店区长风街1号院3号楼"


def _reload_until(page: Page, selector: str, what: str) -> None:
    for _ in range(100):  # the state arrives through Redis and the workers
        if page.locator(selector).count():
            return
        page.wait_for_timeout(300)
        page.reload()
    raise AssertionError(f"timed out waiting for {what}")


def test_return_correct_resubmit_approve_and_the_path_taken(browser: Browser, stack: Stack) -> None:
    center = center_api(stack)
    employer = browser.new_page()
    login_employer(employer, stack)
    employer.get_by_role("link", name="单位信息变更").click()
    employer.get_by_label("单位地址").fill(FIRST)
    employer.get_by_role("button", name="提交审批").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")
    _reload_until(employer, "#diagram[data-rendered=true]", "the path of the submitted change")
    expect(employer.locator('#diagram g.current[data-element-id="Task_handler_review"]')).to_be_attached()

    def open_task(seen: set[int]) -> dict[str, Any] | None:
        items = center.get("workflow", "/tasks", status="open", scope="all", business_type="employer_change",
                           per_page=100)["items"]
        # The employer has one pending change at a time: its open task is the one.
        return next((i for i in items if i["task"]["id"] not in seen
                     and i["instance"]["employer_no"] == demo.EMPLOYER_NO), None)

    first = wait_for(lambda: open_task(set()), what="the review task")
    admin = browser.new_page()
    login_center(admin, stack)
    admin.goto(stack.url("gateway") + f"/admin/tasks/{first['task']['id']}")
    expect(admin.locator("#business-rows")).to_contain_text(FIRST)
    admin.get_by_role("button", name="退回").click()
    expect(admin.get_by_role("alert").first).to_have_text("退回时请填写退回意见")
    admin.get_by_label("审批意见").fill("请补充门牌号")
    admin.get_by_role("button", name="退回").click()
    expect(admin.get_by_role("alert").first).to_have_text("已退回至单位修改")

    # The employer's 待办 has it; 打开 shows the path so far, and the link opens the business.
    employer.goto(stack.url("gateway") + "/?box=todo")
    _reload_until(employer, "#inbox-todo tbody tr:has-text('请补充门牌号')", "the returned change in 待办")
    employer.locator("#inbox-todo tbody tr", has_text="请补充门牌号").get_by_role("link", name="打开").click()
    expect(employer.locator("#instance-status")).to_have_text("已退回，待修改")
    expect(employer.locator('#diagram[data-rendered=true] g.taken[data-element-id="Flow_to_handler_review"]')) \
        .to_be_attached()
    employer.get_by_role("link", name="修改后重新提交或结束流程").click()
    # The change page opens editable, with the data kept and the opinion shown.
    _reload_until(employer, "#return-opinion", "the returned change")
    expect(employer.locator("#return-opinion")).to_have_text("请补充门牌号")
    address = employer.get_by_label("单位地址")
    expect(address).to_have_value(FIRST)
    expect(employer.locator("#roster tbody tr")).to_have_count(1)
    expect(employer.locator("#steps")).to_contain_text("退回")
    expect(employer.locator("#steps")).to_contain_text("请补充门牌号")
    address.fill(CORRECTED)
    employer.get_by_role("button", name="重新提交").click()
    expect(employer.get_by_role("alert").first).to_have_text("已提交至中心审核")
    expect(employer.locator("#pending-roster")).to_contain_text(CORRECTED)

    second = wait_for(lambda: open_task({first["task"]["id"]}), what="the review task again")
    assert second["instance"]["id"] == first["instance"]["id"]  # the same process instance
    admin.goto(stack.url("gateway") + f"/admin/tasks/{second['task']['id']}")
    expect(admin.locator("#business-rows")).to_contain_text(CORRECTED)
    admin.get_by_label("审批意见").fill("同意")
    admin.get_by_role("button", name="通过", exact=True).click()
    expect(admin.get_by_role("alert").first).to_have_text("审批完成")

    _reload_until(employer, "#change-form button:has-text('提交审批')", "the approved change")
    expect(employer.get_by_label("单位地址")).to_have_value(CORRECTED)

    # The path in the process monitor: the flows taken to approval, not the one to rejection.
    admin.goto(stack.url("gateway") + f"/admin/instances/{first['instance']['id']}")
    expect(admin.locator("#diagram[data-rendered=true]")).to_be_attached()
    for flow in ("Flow_to_handler_review", "Flow_to_handler_decision", "Flow_approved"):
        expect(admin.locator(f'#diagram g.djs-connection.taken[data-element-id="{flow}"]')).to_be_attached()
    expect(admin.locator('#diagram g.taken[data-element-id="Flow_rejected"]')).to_have_count(0)
    expect(admin.locator('#diagram g.done[data-element-id="EndEvent_approved"]')).to_be_attached()
    steps = admin.locator("#steps tbody tr")
    expect(steps.filter(has_text="请补充门牌号")).to_contain_text("退回")
    expect(steps.filter(has_text="同意")).to_contain_text("通过")
    expect(admin.locator("#instance-status")).to_contain_text("已办结")
