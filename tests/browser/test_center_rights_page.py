"""The 中心权限 page: an administrator gives the approver center02 a role holding 审计日志; after logging
in again center02 finds that one page in the menu and opens it, and nothing else; the role's removal
takes it away again. Both changes are in the audit log."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack

from .login_support import login_center

MENU = ("流程监控", "流程设计", "账号管理", "UKey管理", "消息推送", "死信事件", "用户组", "中心权限", "审计日志")


def _menu(page: Page) -> list[str]:
    return [name for name in MENU if page.get_by_role("link", name=name, exact=True).count()]


def test_a_role_gives_an_approver_exactly_the_audit_page_and_its_removal_takes_it_away(
    browser: Browser, stack: Stack
) -> None:
    code, name = f"r{uuid.uuid4().hex[:8]}", f"稽核员{uuid.uuid4().hex[:4]}"
    admin = browser.new_context().new_page()
    login_center(admin, stack)
    admin.get_by_role("link", name="中心权限").click()
    expect(admin.get_by_role("heading", name="中心权限")).to_be_visible()
    effective = admin.locator(f'#center-accounts tr[data-login="{demo.REVIEWER_LOGIN}"] .effective')
    expect(effective).to_have_text("仅审批")

    create = admin.locator("#role-create")
    create.get_by_label("角色编码").fill(code)
    create.get_by_label("角色名称").fill(name)
    create.get_by_label("审计日志").check()
    admin.get_by_role("button", name="新建中心角色").click()
    expect(admin.get_by_role("alert")).to_have_text(f"已新建中心角色「{name}」")
    row = admin.locator(f'#roles tr[data-code="{code}"]')
    row.get_by_label(f"{demo.REVIEWER_NAME}（{demo.REVIEWER_LOGIN}）").check()
    row.get_by_role("button", name="保存成员").click()
    expect(admin.get_by_role("alert")).to_have_text(f"已设置中心角色 {code} 的成员")
    expect(effective).to_have_text("审计日志")

    reviewer = browser.new_context().new_page()
    login_center(reviewer, stack, demo.REVIEWER_LOGIN, demo.REVIEWER_PASSWORD)
    assert _menu(reviewer) == ["审计日志"]
    reviewer.get_by_role("link", name="审计日志").click()
    expect(reviewer.get_by_role("heading", name="审计日志")).to_be_visible()
    expect(reviewer.locator("#audit tbody tr", has_text=code).first).to_contain_text("设置中心角色成员")
    refused = reviewer.goto(stack.url("gateway") + "/admin/rights/")
    assert refused is not None and refused.status == 403

    # The change ended center02's session: its next page asks it to log in again, then shows no admin page.
    row.get_by_label(f"{demo.REVIEWER_NAME}（{demo.REVIEWER_LOGIN}）").uncheck()
    row.get_by_role("button", name="保存成员").click()
    expect(admin.get_by_role("alert")).to_have_text(f"已设置中心角色 {code} 的成员")
    reviewer.goto(stack.url("gateway") + "/admin/audit")
    expect(reviewer.get_by_label("登录名称")).to_be_visible()
    login_center(reviewer, stack, demo.REVIEWER_LOGIN, demo.REVIEWER_PASSWORD)
    assert _menu(reviewer) == []
