"""The center admin's 用户组 and 审计日志 pages: a new group with a member, both actions in the audit log
newest first with their before and after; a reviewer without admin rights gets neither page."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from deploy import demo_data as demo
from deploy.stack import Stack

from .test_admin_console_page import login_center


def test_an_admin_creates_a_group_adds_a_member_and_sees_both_in_the_audit_log(
    browser: Browser, stack: Stack
) -> None:
    code, name = f"g{uuid.uuid4().hex[:8]}", f"稽核{uuid.uuid4().hex[:4]}"
    page = browser.new_page()
    login_center(page, stack)
    page.get_by_role("link", name="用户组").click()
    expect(page.get_by_role("heading", name="用户组")).to_be_visible()
    expect(page.locator('#groups tr[data-code="reviewer"]')).to_contain_text(demo.REVIEWER_NAME)
    create = page.locator("#group-create")

    create.get_by_label("用户组编码").fill(code)
    create.get_by_label("用户组名称").fill(name)
    page.get_by_role("button", name="新建用户组").click()
    expect(page.get_by_role("alert")).to_have_text(f"已新建用户组「{name}」")
    row = page.locator(f'#groups tr[data-code="{code}"]')
    expect(row).to_contain_text("暂无成员")

    # The same code again is refused in Chinese, and what was typed stays in the form.
    create.get_by_label("用户组编码").fill(code)
    create.get_by_label("用户组名称").fill("另一个组")
    page.get_by_role("button", name="新建用户组").click()
    expect(page.get_by_role("alert")).to_have_text(f"用户组编码 {code} 已存在")
    expect(create.get_by_label("用户组编码")).to_have_value(code)

    row.get_by_text("设置成员").click()
    row.get_by_label(f"{demo.REVIEWER_NAME}（{demo.REVIEWER_LOGIN}）").check()
    row.get_by_role("button", name="保存成员").click()
    expect(page.get_by_role("alert")).to_have_text(f"已保存用户组 {code} 的成员，成员变动的账号需重新登录")
    expect(row.locator(".members")).to_have_text(f"{demo.REVIEWER_NAME}（{demo.REVIEWER_LOGIN}）")

    page.get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    mine = page.locator("#audit tbody tr", has_text=code)
    expect(mine).to_have_count(2)
    expect(mine.nth(0)).to_contain_text("设置用户组成员")  # newest first
    expect(mine.nth(0)).to_contain_text(f'"members": ["{demo.REVIEWER_LOGIN}"]')
    expect(mine.nth(1)).to_contain_text("新建用户组")
    expect(mine.nth(1)).to_contain_text(f'"name": "{name}"')
    expect(mine.nth(1)).to_contain_text(demo.CENTER_LOGIN)


def test_a_reviewer_without_center_permissions_sees_and_opens_no_admin_page(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(stack.url("gateway") + "/admin/login")
    page.get_by_label("登录名称").fill(demo.REVIEWER_LOGIN)
    page.get_by_label("登录密码").fill(demo.REVIEWER_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="待审批业务")).to_be_visible()
    for name in ("流程监控", "流程设计", "账号管理", "UKey管理", "安全密钥", "消息推送", "死信事件", "用户组",
                 "中心权限", "审计日志"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    for path in ("/admin/groups", "/admin/audit", "/admin/accounts", "/admin/ukeys", "/admin/security-keys",
                 "/admin/push", "/admin/dead-letters", "/admin/definitions/", "/admin/instances/", "/admin/rights/"):
        response = page.goto(stack.url("gateway") + path)
        assert response is not None and response.status == 403
        expect(page.locator("main")).to_contain_text("当前账号无权进行该操作")
