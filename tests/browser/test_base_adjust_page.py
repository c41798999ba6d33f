"""基数调整 (manual ch. 4) as the employer's operator uses it in the browser, against the real stack: one
member by 单笔录入 (the echo of its current figures, the new amount previewed while typing, a value beyond
the limit refused before 录入清册), another by 批量录入 (a grid cell left records its row at once), a
third by 批量导入 beside a sealed member's row refused, a row deleted through the dialog (取消, then
确定), and the rest saved (保存) as one business."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy.orm import Session

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.integration.helpers import center_api, wait_for

from .conftest import check_a11y
from .login_support import login_center
from .member_support import (
    DEMO_MEMBERS,
    alert,
    download,
    filled,
    navigating_click,
    open_page,
    pick_member,
    run_query,
    upload,
    wait_for_text,
)

# Normal demo members only this file adjusts (the first 40 are sealed and queried by other files; the
# integration tests seal the last normal one), and a sealed one for the refused import row.
SINGLE, GRID, IMPORTED = DEMO_MEMBERS[120], DEMO_MEMBERS[121], DEMO_MEMBERS[122]
SEALED = DEMO_MEMBERS[44]
assert {m["status"] for m in (SINGLE, GRID, IMPORTED)} == {"01"} and SEALED["status"] == "02"
THIS_MONTH = f"{date.today():%Y%m}"


def _a_policy_in_force(stack: Stack) -> None:
    """The center's policy (政策参数) this month: the demo's, or a Taiyuan-like one where only the
    migration's catch-all of 1991 (no real bound) is there."""
    from services.member.models import PolicyVersion

    engine = sa.create_engine(stack.database_url("member"))
    with Session(engine) as session:
        newest = session.scalar(sa.select(sa.func.max(PolicyVersion.effective_from))
                                .where(PolicyVersion.effective_from <= date.today()))
        if newest is None or newest < date(2025, 7, 1):
            session.add(PolicyVersion(
                effective_from=date(2025, 7, 1), base_min=Decimal("1880"), base_max=Decimal("26952"),
                amount_min=Decimal("188"), amount_max=Decimal("6468.48"), employer_ratio_min=Decimal("0.05"),
                employer_ratio_max=Decimal("0.12"), personal_ratio_min=Decimal("0.05"),
                personal_ratio_max=Decimal("0.12"), current_rate=Decimal("0.015"), carried_rate=Decimal("0.015")))
            session.commit()
    engine.dispose()


def _roster_row(page: Page, member_no: str) -> Locator:
    return page.locator("#roster tbody tr[data-row-id]", has_text=member_no)


def test_single_entry_grid_and_import_fill_one_roster_saved_as_one_business(browser: Browser, stack: Stack) -> None:
    _a_policy_in_force(stack)
    page = open_page(browser, stack, "/")
    page.get_by_role("link", name="基数调整").click()
    expect(page.get_by_role("heading", name="基数调整", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="单笔录入")).to_have_attribute("aria-current", "page")

    # 单笔录入: the member chosen by the type-ahead, its figures echoed.
    pick_member(page, SINGLE["member_no"], SINGLE["member_no"])
    expect(page.locator("#echo-name")).to_have_value(SINGLE["name"])
    expect(page.locator("#echo-base")).to_have_value(f"{SINGLE['base']:.2f}")
    part = (SINGLE["base"] * Decimal("0.12")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    expect(page.locator("#echo-amount")).to_have_value(f"{2 * part:.2f}")
    expect(page.locator("#field-category")).to_have_value("base")
    expect(page.locator("#field-amount")).to_be_hidden()
    page.locator("#field-effective_month").fill(THIS_MONTH)
    # Beyond the limit: said before 录入清册, naming the member and the bound.
    page.locator("#field-base").fill("99999")
    expect(page.locator("#preview-error")).to_contain_text(f"{SINGLE['name']}（{SINGLE['member_no']}）的缴存基数")
    expect(page.locator("#preview-error")).to_contain_text("高于上限")
    page.locator("#field-base").fill("8000")
    expect(page.locator("#preview-amount")).to_have_text("1920.00 元（单位960.00元 + 个人960.00元）")
    expect(page.locator("#preview-ratio")).to_have_text("12%/12%")
    check_a11y(page)
    navigating_click(page, page.locator("#entry-submit"))
    expect(alert(page)).to_have_text("基数调整清册录入成功")
    expect(_roster_row(page, SINGLE["member_no"])).to_contain_text("1920.00")

    # 批量录入: the grid for 月缴存额, searched by number; leaving the edited cell records the row.
    page.get_by_role("link", name="批量录入").click()
    page.locator("#grid-category").select_option("amount")
    page.locator("#grid-q").fill(GRID["member_no"])
    navigating_click(page, page.locator("#grid-search-button"))
    line = page.locator(f'#grid tr[data-member-no="{GRID["member_no"]}"]')
    expect(line).to_contain_text(GRID["name"])
    cell = line.get_by_role("textbox", name=f"{GRID['name']}（{GRID['member_no']}）的新月缴存额")
    cell.fill("1500")
    page.locator("#grid-month").click()  # anywhere but a button: the cell is left
    expect(line.locator(".cell-state")).to_have_text("已录入清册")
    expect(line.locator(".new-amount")).to_have_text("1500.00")
    expect(_roster_row(page, GRID["member_no"])).to_contain_text("月缴存额")
    check_a11y(page)
    # The single entry's member is not offered again while its row is in the roster.
    page.locator("#grid-q").fill(SINGLE["member_no"])
    navigating_click(page, page.locator("#grid-search-button"))
    expect(page.locator(f'#grid tr[data-member-no="{SINGLE["member_no"]}"] .cell-state')).to_have_text("已录入清册")

    # 批量导入: the category's template, a sealed member's row refused, the good one taken.
    page.get_by_role("link", name="批量导入").click()
    page.locator("#import-option").select_option("base")
    template, name = download(page, page.locator("#template-link"))
    assert name == "基数调整导入模板.xlsx"
    upload(page, filled(template, [
        [IMPORTED["member_no"], IMPORTED["name"], IMPORTED["id_number"], "6000", THIS_MONTH],
        [SEALED["member_no"], SEALED["name"], "", "6000", THIS_MONTH],
    ]), "调基.xlsx")
    expect(page.locator("#import-counts")).to_have_text("共2行，正确1行，错误1行。")
    expect(page.locator("#import-errors li")).to_have_text([f"第3行 个人账号：缴存人{SEALED['name']}当前状态为封存，"
                                                           "只有正常状态的缴存人可以办理基数调整"])
    navigating_click(page, page.locator("#accept-import"))
    expect(_roster_row(page, IMPORTED["member_no"])).to_contain_text("6000.00")

    # 删除: 取消 keeps the row, 确定 removes it.
    row = _roster_row(page, IMPORTED["member_no"])
    row.get_by_role("button", name="删除").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="取消").click()
    expect(row).to_have_count(1)
    row.get_by_role("button", name="删除").click()
    with page.expect_event("load"):
        dialog.get_by_role("button", name="确定").click()
    expect(_roster_row(page, IMPORTED["member_no"])).to_have_count(0)

    # 保存 the two rows as one business.
    earlier = {t["task"]["id"] for t in _open_tasks(stack)}
    page.locator("#select-all").check()
    navigating_click(page, page.locator("#commit"))
    expect(alert(page)).to_have_text("已保存并提交中心审核，审批结果将以消息通知")
    expect(_roster_row(page, SINGLE["member_no"])).to_have_count(0)
    expect(_roster_row(page, GRID["member_no"])).to_have_count(0)

    # The center approves in its console: 经办审核, then 负责人审批 where the largest raise asks for it.
    admin = browser.new_page()
    login_center(admin, stack)
    task: dict[str, Any] | None = wait_for(lambda: _new_task(stack, earlier), what="the review task")
    decided = []
    while task is not None:
        admin.goto(stack.url("gateway") + f"/admin/tasks/{task['task']['id']}")
        expect(admin.locator("#business-rows")).to_contain_text(SINGLE["member_no"])
        admin.get_by_label("审批意见").fill("同意")
        admin.get_by_role("button", name="通过", exact=True).click()
        expect(admin.get_by_role("alert").first).to_have_text("审批完成")
        decided.append(task["task"]["name"])
        earlier.add(task["task"]["id"])
        task = _next_task(stack, earlier, task["instance"]["id"])
    raise_pct = (Decimal("8000") / SINGLE["base"] - 1) * 100
    assert decided == (["经办审核", "负责人审批"] if raise_pct > 50 else ["经办审核"]), (decided, raise_pct)

    # The new monthly amount in 12.1, to the fen; the employer's 消息 says it is done.
    results = run_query(page, stack, "缴存人账户信息", member=(SINGLE["member_no"], SINGLE["member_no"]))
    wait_for_text(page, results, SINGLE["member_no"], "8000.00", "1920.00")
    page.goto(stack.url("gateway") + "/?box=message")
    wait_for_text(page, page.locator("#inbox-message tbody tr"), "您已完成办理缴存人基数变更")


def _open_tasks(stack: Stack) -> list[dict[str, Any]]:
    return [t for t in center_api(stack).get("workflow", "/tasks", status="open", scope="all",
                                             business_type="base_adjustment", per_page=100)["items"]
            if t["instance"]["employer_no"] == demo.EMPLOYER_NO]


def _new_task(stack: Stack, earlier: set[int]) -> dict[str, Any] | None:
    return next((t for t in _open_tasks(stack) if t["task"]["id"] not in earlier), None)


def _next_task(stack: Stack, decided: set[int], instance_id: Any) -> dict[str, Any] | None:
    """The instance's next task (the chief's), or None: a decision runs the process on to its next
    task or its end before the console answers it."""
    return next((t for t in _open_tasks(stack) if t["task"]["id"] not in decided
                 and t["instance"]["id"] == instance_id), None)
