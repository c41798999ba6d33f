"""The employer's and the center's logins as a person does them in the browser, shared by the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.integration.helpers import remember_password

B_PASSWORD = "Hall2026br"


def fill_login(page: Page, stack: Stack, login: str, password: str) -> None:
    page.goto(stack.url("gateway") + "/login")
    page.get_by_label("缴存单位账号").fill(login)
    page.get_by_label("登录名称").fill(login)
    page.get_by_label("登录密码").fill(password)
    page.get_by_label("UKey密码").fill(demo.UKEY_PIN)
    page.get_by_role("button", name="登录", exact=True).click()


def change_password(page: Page, password: str) -> None:
    page.get_by_label("新密码", exact=True).fill(password)
    page.get_by_label("确认新密码").fill(password)
    page.get_by_role("button", name="确定").click()


def sign_in(page: Page, stack: Stack, employer_no: str) -> None:
    """Log in with the second account and the key that manages both demo employers, whether or not that
    account's initial password was already changed, and choose ``employer_no`` on the authorization page."""
    fill_login(page, stack, demo.SECOND_EMPLOYER_NO, B_PASSWORD)
    choice = page.locator("#select-form")
    expect(choice.or_(page.locator("[role=alert]:visible")).first).to_be_visible()
    if not choice.count():
        fill_login(page, stack, demo.SECOND_EMPLOYER_NO, demo.INITIAL_PASSWORD)
        change_password(page, B_PASSWORD)
        remember_password(demo.SECOND_EMPLOYER_NO, B_PASSWORD)
    page.get_by_label(re.compile(employer_no)).check()
    page.get_by_role("button", name="确定").click()


def login_employer(page: Page, stack: Stack) -> None:
    """Log in to the first demo employer (see ``sign_in``)."""
    sign_in(page, stack, demo.EMPLOYER_NO)
    expect(page.locator("#employer-name")).to_have_text(demo.EMPLOYER_NAME)


def login_center(page: Page, stack: Stack, login: str = demo.CENTER_LOGIN,
                 password: str = demo.CENTER_PASSWORD) -> None:
    """Log in to the admin console (center01 unless another center account is named)."""
    page.goto(stack.url("gateway") + "/admin/login")
    page.get_by_label("登录名称").fill(login)
    page.get_by_label("登录密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="待审批业务")).to_be_visible()
