"""The center admin's 政策参数 page in a real browser against the running hall: the demo's Taiyuan versions,
a version added (a refusal first, shown at its field with the input kept), edited while still future,
seen on 审计日志 with before and after, and deleted after 确定 in the page's own dialog."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Browser, Page, expect

from deploy.stack import Stack

from .login_support import login_center


def _fill(page: Page, values: dict[str, str]) -> None:
    form = page.locator("#policy-form")
    for label, value in values.items():
        form.get_by_label(label, exact=True).fill(value)


def test_an_admin_adds_edits_and_deletes_a_future_policy_version(browser: Browser, stack: Stack) -> None:
    later = date.today() + timedelta(days=500)
    page = browser.new_page()
    login_center(page, stack)
    page.get_by_role("link", name="政策参数").click()
    expect(page.get_by_role("heading", name="政策参数", exact=True)).to_be_visible()
    in_force = page.locator("#policy-versions tbody tr", has_text="2026-07-01")
    expect(in_force).to_contain_text("生效中")
    expect(in_force).to_contain_text("1980.00 — 28512.00")
    expect(in_force.get_by_role("link", name="修改")).to_have_count(0)  # in force: a change is a new version
    expect(page.locator("#policy-versions tbody tr", has_text="2025-07-01")).to_contain_text("已失效")

    form = page.locator("#policy-form")
    form.get_by_label("生效日期").fill(later.isoformat())
    _fill(page, {"缴存基数下限（元）": "30000", "缴存基数上限（元）": "29940", "月缴存额下限（元）": "208",
                 "月缴存额上限（元）": "7185.60", "单位缴存比例下限（%）": "5", "单位缴存比例上限（%）": "12",
                 "个人缴存比例下限（%）": "5", "个人缴存比例上限（%）": "12", "当年归集利率（%/年）": "1.5",
                 "上年结转利率（%/年）": "1.5", "备注": "新年度缴存基数上下限"})
    page.get_by_role("button", name="新增版本").click()
    expect(page.get_by_role("alert")).to_have_text("缴存基数下限不能大于缴存基数上限")
    expect(page.locator("#error-base_max")).to_have_text("缴存基数下限不能大于缴存基数上限")
    expect(form.get_by_label("备注")).to_have_value("新年度缴存基数上下限")  # the input is kept
    _fill(page, {"缴存基数下限（元）": "2080"})
    page.get_by_role("button", name="新增版本").click()
    expect(page.get_by_role("alert")).to_have_text(f"已新增政策参数版本，自 {later.isoformat()} 起生效")
    row = page.locator("#policy-versions tbody tr", has_text=later.isoformat())
    expect(row).to_contain_text("未生效")
    expect(row).to_contain_text("2080.00 — 29940.00")
    expect(row).to_contain_text("5% — 12%")

    row.get_by_role("link", name="修改").click()
    expect(page.get_by_role("heading", name=f"修改政策参数（自 {later.isoformat()} 起生效，尚未生效）")).to_be_visible()
    _fill(page, {"缴存基数上限（元）": "30000"})
    page.locator("#policy-form").get_by_label("月缴存额保留位数").select_option(label="到元")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("alert")).to_have_text(f"已修改自 {later.isoformat()} 起生效的政策参数版本")
    expect(row).to_contain_text("2080.00 — 30000.00")
    expect(row).to_contain_text("到元，四舍五入")

    page.get_by_role("link", name="审计日志").click()
    change = page.locator("#audit tbody tr[data-action='policy_update']").first
    expect(change).to_contain_text("缴存人服务")
    expect(change).to_contain_text("修改政策参数")
    expect(change).to_contain_text(f"政策参数 {later.isoformat()}")
    columns = page.locator("#audit thead th").all_inner_texts()  # found by their names, not their places
    expect(change.locator("td").nth(columns.index("变更前"))).to_contain_text('"base_max": "29940.00"')
    expect(change.locator("td").nth(columns.index("变更后"))).to_contain_text('"base_max": "30000.00"')

    page.get_by_role("link", name="政策参数").click()
    row.get_by_role("button", name="删除").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(f"确定删除自 {later.isoformat()} 起生效的政策参数版本？")
    dialog.get_by_role("button", name="取消").click()
    expect(row).to_have_count(1)  # declined: nothing happened
    row.get_by_role("button", name="删除").click()
    dialog.get_by_role("button", name="确定").click()
    expect(page.get_by_role("alert")).to_have_text(f"已删除自 {later.isoformat()} 起生效的政策参数版本")
    expect(page.locator("#policy-versions tbody tr", has_text=later.isoformat())).to_have_count(0)
