"""What a first walk through the hall found, and the elder-friendly settings, as a person meets them:
the icon, error pages in Chinese in the right console, the admin login returning to the page asked for,
单位基本信息 from the employer's name with thousands separators, 大字模式 kept with the account, and the
keyboard. Every page here also passes the axe-core check of conftest.py."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack

from .conftest import check_a11y
from .login_support import login_employer
from .test_admin_console_page import login_center

AMOUNT = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2} 元$")


def font_size(page: Page, selector: str) -> float:
    return float(page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def test_icon_and_unknown_addresses_answer_in_chinese_in_their_console(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    gateway = stack.url("gateway")
    icon = page.request.get(gateway + "/favicon.ico")  # what a browser asks for whatever the page links
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.body()

    missing = page.goto(gateway + "/no/such/page")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(page.locator("#error-message")).to_have_text("页面不存在，请检查地址是否正确")
    expect(page.locator(".brand")).to_have_text("住房公积金 单位网上服务大厅")
    expect(page.locator("body")).not_to_contain_text("Not Found")

    login_center(page, stack)
    missing = page.goto(gateway + "/admin/no-such-page")
    assert missing is not None and missing.status == 404
    expect(page.locator(".brand")).to_have_text("住房公积金中心 管理控制台")
    expect(page.locator("#error-message")).to_have_text("页面不存在，请检查地址是否正确")
    expect(page.get_by_role("link", name="审批任务")).to_be_visible()  # the console's own menu


def test_the_admin_login_returns_to_the_page_asked_for_with_its_query(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(stack.url("gateway") + "/admin/?tab=mine&page=1")
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("登录名称").fill(demo.CENTER_LOGIN)
    page.get_by_label("登录密码").fill(demo.CENTER_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(stack.url("gateway") + "/admin/?tab=mine&page=1")
    expect(page.locator(".tabs a.active, nav a.active").first).to_contain_text("我的任务")


def test_the_employer_name_opens_the_basic_information_with_separated_amounts(
    browser: Browser, stack: Stack
) -> None:
    page = browser.new_page()
    login_employer(page, stack)
    balance = page.locator("xpath=//dt[text()='账户余额']/following-sibling::dd[1]")
    expect(balance).to_have_text(AMOUNT)
    shown = balance.inner_text()
    page.locator("header .employer-name").click()
    expect(page).to_have_url(re.compile(r"/employer/info$"))
    expect(page.get_by_role("heading", name="单位基本信息", level=1)).to_be_visible()
    expect(page.locator("[data-field=name]")).to_have_text(demo.EMPLOYER_NAME)
    expect(page.locator("[data-field=address]")).not_to_be_empty()
    expect(page.locator("#account-balance")).to_have_text(shown)  # the same amount, the same way
    expect(page.locator("#account-unallocated")).to_have_text(AMOUNT)
    expect(page.locator("main input:not([type=hidden]), main textarea, main select")).to_have_count(0)  # read-only
    page.get_by_role("link", name="返回首页").click()
    page.get_by_role("link", name="单位基本信息").first.click()  # the home page's tile opens the same page
    expect(page).to_have_url(re.compile(r"/employer/info$"))


def test_large_text_is_kept_with_the_operator_and_the_keyboard_reaches_everything(
    browser: Browser, stack: Stack
) -> None:
    page = browser.new_page()
    login_employer(page, stack)
    normal = font_size(page, "main dd")
    switch = page.get_by_role("button", name="大字模式")
    try:
        switch.click()
        expect(page.get_by_role("alert")).to_have_text("已开启大字模式")
        expect(page.get_by_role("button", name="关闭大字模式")).to_be_visible()
        assert font_size(page, "main dd") >= normal * 1.2
        # Kept with the account: the next login starts in large text.
        page.get_by_role("button", name="退出系统").click()
        login_employer(page, stack)
        assert font_size(page, "main dd") >= normal * 1.2
        expect(page.locator("html")).to_have_class("large-text")
        check_a11y(page)
    finally:
        off = page.get_by_role("button", name="关闭大字模式")
        if off.count():
            off.click()
    expect(page.get_by_role("alert")).to_have_text("已关闭大字模式")
    assert font_size(page, "main dd") == normal

    # Keyboard only: the first Tab shows 跳到主要内容 with a visible focus ring; it leads into the page.
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("跳到主要内容")
    assert focused.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert page.locator(":focus").evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    # A business page opens from the keyboard.
    page.get_by_role("link", name="单位信息变更").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="单位信息变更", level=1)).to_be_visible()
