"""The console's second factor in Chromium, on a stack of its own with HALL_CENTER_SECOND_FACTOR on (as
in production and `make run`; the session's stack runs without it): the first login binds an
authenticator app (the secret shown as a QR code drawn by the gateway and as text; the codes here are
computed from that text with pyotp), a wrong code is refused and counted, the console opens only after
the code, a code used once is refused, and 审计日志 names the factor of each admin action; a lost phone's
factor is reset by one administrator and confirmed by another (dual control), and its owner enrols again."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from deploy import demo_data as demo
from deploy.stack import Stack


@pytest.fixture(scope="module")
def factor_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from tests.conftest import running_stack

    with running_stack(tmp_path_factory.mktemp("totp"), {"HALL_CENTER_SECOND_FACTOR": "true"},
                       tag="_totp") as running:
        yield running


def _password(page: Page, stack: Stack, login: str = demo.CENTER_LOGIN) -> None:
    page.goto(stack.url("gateway") + "/admin/login")
    page.get_by_label("登录名称").fill(login)
    page.get_by_label("登录密码").fill(demo.CENTER_PASSWORD)  # every demo center account's
    page.get_by_role("button", name="登录").click()


def _enrolled(browser: Browser, stack: Stack, login: str) -> Page:
    """A new browser signed in to the console as ``login``, binding its authenticator on the way."""
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # 重置动态口令 and 确认 ask first
    _password(page, stack, login)
    expect(page.get_by_role("heading", name="绑定动态口令")).to_be_visible()
    _enter(page, _code(page.locator("#totp-secret").inner_text().strip()), "绑定并登录")
    expect(page.get_by_role("heading", name="待审批业务")).to_be_visible()
    return page


def _enter(page: Page, code: str, button: str = "登录") -> None:
    page.get_by_label("动态口令", exact=True).fill(code)
    page.get_by_role("button", name=button).click()


def _code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def test_the_console_needs_the_second_factor_enrolled_then_each_code_once_and_the_audit_names_it(
    browser: Browser, factor_stack: Stack
) -> None:
    if time.time() % 30 > 15:  # the codes below are named by their step from now: start early in a step
        time.sleep(30 - time.time() % 30 + 0.1)
    page = browser.new_page()
    _password(page, factor_stack)
    expect(page.get_by_role("heading", name="绑定动态口令")).to_be_visible()
    expect(page.get_by_role("img", name="动态口令绑定二维码")).to_be_visible()  # drawn by the gateway, inline SVG
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret

    # Past the password but not the code: the console is not open.
    page.goto(factor_stack.url("gateway") + "/admin/")
    expect(page.get_by_role("heading", name="中心人员登录")).to_be_visible()
    page.goto(factor_stack.url("gateway") + "/admin/login/factor")

    wrong = "000000" if _code(secret) != "000000" else "111111"
    _enter(page, wrong, "绑定并登录")
    expect(page.get_by_role("alert")).to_have_text("动态口令错误，还可尝试3次")
    expect(page.get_by_role("heading", name="绑定动态口令")).to_be_visible()  # not bound by a wrong code
    used = _code(secret)
    _enter(page, used, "绑定并登录")
    expect(page.get_by_role("heading", name="待审批业务")).to_be_visible()

    # An admin action of this session: its audit record names the factor.
    code, name = f"g{uuid.uuid4().hex[:8]}", f"口令{uuid.uuid4().hex[:4]}"
    page.get_by_role("link", name="用户组").click()
    create = page.locator("#group-create")
    create.get_by_label("用户组编码").fill(code)
    create.get_by_label("用户组名称").fill(name)
    page.get_by_role("button", name="新建用户组").click()
    expect(page.get_by_role("alert")).to_have_text(f"已新建用户组「{name}」")
    page.get_by_role("link", name="审计日志").click()
    created = page.locator("#audit tbody tr[data-action='group_create']", has_text=code)
    expect(created.locator("td.factor")).to_have_text("密码+动态口令")
    expect(page.locator("#audit tbody tr[data-action='enrol_totp'] td.factor").first).to_have_text("密码+动态口令")
    page.get_by_role("button", name="退出系统").click()

    # The next login asks for the code only (the secret is never shown again); the code already used is refused.
    _password(page, factor_stack)
    expect(page.get_by_role("heading", name="动态口令验证")).to_be_visible()
    expect(page.locator("#totp-secret")).to_have_count(0)
    _enter(page, used)
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^该动态口令已使用"))
    expect(page.get_by_role("heading", name="动态口令验证")).to_be_visible()
    _enter(page, _code(secret, 1))  # the next step's code (one step of drift): accepted
    expect(page.get_by_role("heading", name="待审批业务")).to_be_visible()

    # 中心账号动态口令: center02 lost its phone. center01 asks for the reset, center03 confirms it.
    reviewer = _enrolled(browser, factor_stack, demo.REVIEWER_LOGIN)
    confirmer = _enrolled(browser, factor_stack, demo.ADMIN2_LOGIN)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="账号管理").click()
    row = page.locator(f'#second-factors tr[data-login="{demo.REVIEWER_LOGIN}"]')
    expect(row).to_contain_text("已绑定")
    expect(page.locator(f'#second-factors tr[data-login="{demo.CENTER_LOGIN}"]')).to_contain_text("已绑定")
    row.get_by_role("button", name="重置动态口令").click()
    expect(page.get_by_role("alert")).to_have_text("已提交，待另一名管理员复核")
    confirmer.get_by_role("link", name="账号管理").click()
    waiting = confirmer.locator("#approvals tbody tr[data-kind='reset_totp']", has_text=demo.REVIEWER_LOGIN).first
    expect(waiting).to_contain_text("重置动态口令")
    waiting.get_by_role("button", name="确认").click()
    expect(confirmer.get_by_role("alert")).to_have_text(
        f"已复核，{demo.REVIEWER_LOGIN} 的动态口令已重置，该账号下次登录时重新绑定")
    expect(confirmer.locator(f'#second-factors tr[data-login="{demo.REVIEWER_LOGIN}"]')).to_contain_text("未绑定")
    # Its session ended with the reset: every service refuses it once the revocation has travelled.
    login_heading = reviewer.get_by_role("heading", name="中心人员登录")
    for _ in range(30):
        reviewer.reload()
        if login_heading.count():
            break
        reviewer.wait_for_timeout(500)
    expect(login_heading).to_be_visible()
    _password(reviewer, factor_stack, demo.REVIEWER_LOGIN)
    expect(reviewer.get_by_role("heading", name="绑定动态口令")).to_be_visible()
    confirmer.get_by_role("link", name="审计日志").click()
    reset = confirmer.locator("#audit tbody tr[data-action='reset_totp']").first
    expect(reset).to_contain_text(f"{demo.CENTER_LOGIN} 申请，{demo.ADMIN2_LOGIN} 复核")
    expect(reset.locator("td.factor")).to_have_text("密码+动态口令")
