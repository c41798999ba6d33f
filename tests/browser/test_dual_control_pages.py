"""Dual control in the console, with two administrators in two browsers: a password reset and a UKey
issue asked for by center01 take effect only when center03 confirms them. The one-time password
appears on the confirmer's page only; the new UKey's certificate is written on the requester's page,
where the token is inserted, and the employer then logs in with it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.login_support import change_password, fill_login, login_center
from tests.integration.helpers import NEW_PASSWORD, password_of, remember_password

REQUESTED = "已提交，待另一名管理员复核"


def admin(browser: Browser, stack: Stack, login: str, menu: str) -> Page:
    page = browser.new_page()
    login_center(page, stack, login, demo.CENTER_PASSWORD if login == demo.CENTER_LOGIN else demo.ADMIN2_PASSWORD)
    page.on("dialog", lambda dialog: dialog.accept())  # 重置密码 and 确认 ask first
    page.get_by_role("link", name=menu).click()
    return page


def test_a_password_reset_asked_by_one_admin_is_confirmed_by_another_who_alone_sees_the_password(
    browser: Browser, stack: Stack
) -> None:
    requester = admin(browser, stack, demo.CENTER_LOGIN, "账号管理")
    requester.locator(f'#operators tr[data-login="{demo.EMPLOYER_NO}"]').get_by_role("button", name="重置密码").click()
    expect(requester.get_by_role("alert")).to_have_text(REQUESTED)
    request = requester.locator("#approvals tbody tr", has_text=demo.EMPLOYER_NO).first
    expect(request).to_contain_text(REQUESTED)
    expect(request.get_by_role("button", name="确认")).to_have_count(0)  # not for one's own request
    expect(request.get_by_role("button", name="撤销")).to_be_visible()

    confirmer = admin(browser, stack, demo.ADMIN2_LOGIN, "账号管理")
    waiting = confirmer.locator("#approvals tbody tr", has_text=demo.EMPLOYER_NO).first
    expect(waiting).to_contain_text("待复核")
    expect(waiting).to_contain_text(demo.CENTER_LOGIN)
    waiting.get_by_role("button", name="确认").click()
    shown = confirmer.get_by_role("alert").filter(has_text="的一次性密码：")
    expect(shown).to_have_text(re.compile(rf"^{demo.EMPLOYER_NO} 的一次性密码：[A-Za-z0-9]{{10}}$"))
    one_time = shown.inner_text().rsplit("：", 1)[1]
    expect(confirmer.locator("#approvals tbody tr", has_text=demo.EMPLOYER_NO).first).to_contain_text(
        f"已复核（{demo.ADMIN2_LOGIN}）")

    # The requester learns that it was confirmed, never the password.
    requester.reload()
    expect(requester.locator("#approvals tbody tr", has_text=demo.EMPLOYER_NO).first).to_contain_text(
        f"已复核（{demo.ADMIN2_LOGIN}）")
    assert one_time not in requester.content()

    employer = browser.new_page()
    fill_login(employer, stack, demo.EMPLOYER_NO, one_time)
    expect(employer.get_by_role("heading", name="修改密码")).to_be_visible()
    change_password(employer, NEW_PASSWORD)
    remember_password(demo.EMPLOYER_NO, NEW_PASSWORD)  # the API tests log in with it from now on
    expect(employer.get_by_role("heading", name="选择需要登录的单位账号")).to_be_visible()


def test_a_ukey_issue_asked_by_one_admin_is_certified_when_another_confirms_and_then_opens_the_hall(
    browser: Browser, stack: Stack
) -> None:
    # The demo UKey is the token at the requester's PC: a new key is generated on it for both employers.
    requester = admin(browser, stack, demo.CENTER_LOGIN, "UKey管理")
    issue = requester.locator("#issue-form")
    issue.get_by_label("UKey密码").fill(demo.UKEY_PIN)
    for employer in demo.EMPLOYERS:
        issue.get_by_label(re.compile(employer["employer_no"])).check()
    issue.get_by_role("button", name="签发UKey").click()
    expect(requester.get_by_role("alert")).to_have_text(REQUESTED)
    request = requester.locator('#approvals tbody tr[data-kind="issue_ukey"]').first  # the newest first
    expect(request).to_contain_text(REQUESTED)
    expect(request).to_contain_text(f"{demo.EMPLOYER_NO}、{demo.SECOND_EMPLOYER_NO}")
    serial = request.get_attribute("data-serial")
    assert serial

    confirmer = admin(browser, stack, demo.ADMIN2_LOGIN, "UKey管理")
    waiting = confirmer.locator(f'#approvals tbody tr[data-serial="{serial}"]').first
    expect(waiting).to_contain_text("待复核")
    waiting.get_by_role("button", name="确认").click()
    expect(confirmer.get_by_role("alert")).to_have_text("已复核，UKey证书已签发，请在插有该UKey的电脑上写入UKey")
    issued = confirmer.locator("#ukeys tbody tr", has_text=serial).filter(has_text="正常")
    expect(issued).to_have_count(1)
    expect(issued).to_contain_text(demo.SECOND_EMPLOYER_NO)

    # Back at the requester's PC, where the token is: the confirmed request writes its certificate.
    requester.reload()
    done = requester.locator(f'#approvals tbody tr[data-serial="{serial}"]').first
    expect(done).to_contain_text(f"已复核（{demo.ADMIN2_LOGIN}）")
    done.get_by_label("UKey密码").fill(demo.UKEY_PIN)
    done.get_by_role("button", name="写入UKey").click()
    expect(requester.locator("#write-result")).to_have_text("证书已写入UKey")

    # With the new key and certificate; as the first demo account, so that the second one's first login
    # stays for test_employer_change_page.
    employer = browser.new_page()
    fill_login(employer, stack, demo.EMPLOYER_NO, password_of(demo.EMPLOYER_NO))
    choice = employer.get_by_role("heading", name="选择需要登录的单位账号")
    expect(choice.or_(employer.get_by_role("heading", name="修改密码"))).to_be_visible()
    if not choice.is_visible():  # this test ran alone: the initial password is changed first
        change_password(employer, NEW_PASSWORD)
        remember_password(demo.EMPLOYER_NO, NEW_PASSWORD)
    employer.get_by_label(re.compile(demo.EMPLOYER_NO)).check()
    employer.get_by_role("button", name="确定").click()
    expect(employer.locator("#employer-name")).to_have_text(demo.EMPLOYER_NAME)
