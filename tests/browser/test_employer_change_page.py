"""The employer info change page as a person uses it: edit two fields, cancel one, submit, have the
center approve it in the admin console, read the message in the employer's inbox."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.login_support import B_PASSWORD, change_password, fill_login, login_employer
from tests.integration.helpers import remember_password


@pytest.mark.first_login
def test_login_with_ukey_forced_change_and_the_choice_of_employer(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(stack.url("gateway") + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    fill_login(page, stack, demo.SECOND_EMPLOYER_NO, "wrong-password1")
    expect(page.get_by_role("alert")).to_have_text("登录失败：单位账号、登录名称、密码或UKey验证未通过，还可尝试4次")

    # A wrong UKey PIN is reported by the agent, before the hall sees the password.
    page.get_by_label("登录密码").fill(demo.INITIAL_PASSWORD)
    page.get_by_label("UKey密码").fill("000000")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#login-error")).to_have_text("UKey密码错误")
    expect(page.get_by_role("alert")).to_have_text("UKey密码错误")  # the previous attempt's answer is gone

    fill_login(page, stack, demo.SECOND_EMPLOYER_NO, demo.INITIAL_PASSWORD)
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("首次登录或密码已重置，请先修改密码")
    change_password(page, "short1")
    expect(page.get_by_role("alert")).to_contain_text("新密码长度不能少于8位")
    change_password(page, B_PASSWORD)
    remember_password(demo.SECOND_EMPLOYER_NO, B_PASSWORD)  # the API tests log in with it from now on

    # The authorization page: the employers this UKey manages.
    expect(page.get_by_role("heading", name="选择需要登录的单位账号")).to_be_visible()
    choices = page.locator("#select-form label.choice")
    expect(choices).to_have_count(2)
    page.get_by_label(re.compile(demo.SECOND_EMPLOYER_NO)).check()
    page.get_by_role("button", name="确定").click()
    expect(page.locator("#employer-name")).to_have_text("太原市示例商贸有限公司")
    # The second account may only query: the business modules are hidden.
    expect(page.get_by_text("单位信息查询", exact=True)).to_be_visible()
    expect(page.locator('[data-module="employer_query"]')).to_have_attribute("href", "/employer/queries")
    expect(page.get_by_role("link", name="单位信息变更")).to_have_count(0)

    page.get_by_role("link", name="修改密码").click()
    page.get_by_label("原密码").fill("not-the-password1")
    change_password(page, "Another2026x")
    expect(page.get_by_role("alert")).to_have_text("原密码错误，还可尝试4次")
    page.goto(stack.url("gateway") + "/")

    page.get_by_role("button", name="关闭音效").click()
    expect(page.get_by_role("button", name="开启音效")).to_be_visible()
    page.get_by_role("button", name="退出系统").click()
    expect(page.get_by_role("alert")).to_have_text("已退出系统")
    page.goto(stack.url("gateway") + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_edit_cancel_submit_approve_and_read_the_message(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    login_employer(page, stack)
    page.get_by_role("link", name="单位信息变更").click()
    expect(page.get_by_role("heading", name="单位信息变更")).to_be_visible()
    # Greyed fields cannot be edited.
    expect(page.get_by_label("单位名称")).to_be_disabled()
    roster = page.locator("#roster tbody tr")
    expect(roster).to_have_count(0)

    # The input takes no more than the field does; a longer value (sent by a page without the limit) is
    # refused naming its row and field, and the roster wraps it inside the page.
    address = page.get_by_label("单位地址")
    expect(address).to_have_attribute("maxlength", "200")
    expect(page.get_by_label("邮政编码")).to_have_attribute("maxlength", "6")
    address.evaluate("input => input.removeAttribute('maxlength')")
    address.fill("长" * 2000)
    page.get_by_role("button", name="提交审批").click()
    expect(page.get_by_role("alert")).to_have_text("第1行 单位地址：单位地址不能超过200个字")
    expect(page.locator("#error-address")).to_have_text("单位地址不能超过200个字")
    expect(roster).to_have_count(1)
    main_box, roster_box = page.locator("main").bounding_box(), page.locator("#roster").bounding_box()
    assert main_box and roster_box and roster_box["width"] <= main_box["width"]
    expect(page.locator("#request-state")).to_have_count(0)  # nothing was submitted

    phone = page.get_by_label("单位联系电话")
    old_phone = phone.input_value()
    address.fill("山西省太原市杏花岭区府西街9号")
    phone.fill("0351-5550000")
    expect(roster).to_have_count(2)
    expect(roster.nth(0)).to_contain_text("单位地址")
    expect(roster.nth(0)).to_contain_text("山西省太原市杏花岭区府西街9号")
    expect(roster.nth(1)).to_contain_text("单位联系电话")

    roster.nth(1).get_by_title("取消修改").click()
    expect(roster).to_have_count(1)
    expect(phone).to_have_value(old_phone)

    page.get_by_role("button", name="提交审批").click()
    expect(page.get_by_role("alert")).to_have_text("已提交至中心审核")

    # While in approval the request shows read-only: no second submission can start.
    expect(page.locator("#request-state")).to_have_text("存在未审批完成的单位信息变更业务，请等待中心审批完成。")
    expect(page.locator("#pending-roster tbody tr")).to_have_count(1)
    expect(page.locator("#pending-roster")).to_contain_text("山西省太原市杏花岭区府西街9号")
    expect(page.get_by_role("button", name="提交审批")).to_have_count(0)

    admin = browser.new_page()
    admin.goto(stack.url("gateway") + "/admin/login")
    admin.get_by_label("登录名称").fill(demo.CENTER_LOGIN)
    admin.get_by_label("登录密码").fill(demo.CENTER_PASSWORD)
    admin.get_by_role("button", name="登录").click()
    task_row = admin.locator("#tasks tbody tr", has_text="单位信息变更")
    for _ in range(50):  # the task arrives through Redis and the worker
        if task_row.count():
            break
        admin.wait_for_timeout(300)
        admin.reload()
    task_row.first.get_by_role("link", name="审批").click()
    expect(admin.locator("#business-rows")).to_contain_text("山西省太原市杏花岭区府西街9号")
    expect(admin.locator("#diagram[data-rendered=true]")).to_be_attached()
    admin.get_by_label("审批意见").fill("同意")
    admin.get_by_role("button", name="通过", exact=True).click()
    expect(admin.get_by_role("alert")).to_have_text("审批完成")

    message = "尊敬的太原市示例科技有限公司，您已完成办理单位信息变更（业务编号"
    inbox = page.locator("#inbox-message tbody tr", has_text=message)
    page.goto(stack.url("gateway") + "/")
    for _ in range(50):
        if inbox.count():
            break
        page.wait_for_timeout(300)
        page.reload()
    inbox.first.get_by_role("link", name="查看").click()
    expect(page.locator("#message-content")).to_contain_text(message)
    expect(page.locator("#message-content")).to_contain_text("变更项：单位地址")
    page.get_by_role("button", name="标为已阅").click()
    expect(page.get_by_role("alert")).to_have_text("已标为已阅")

    page.get_by_role("link", name="单位信息变更").click()
    expect(page.get_by_label("单位地址")).to_have_value("山西省太原市杏花岭区府西街9号")
