"""Security keys in real Chromium with virtual authenticators (the DevTools WebAuthn domain): an operator
logged in with the UKey registers a key on 安全密钥, logs out and logs in with password and key while
the agent is stopped; a key the hall does not know, a copy of the key whose counter stands behind (a
clone) and the key after the center revoked it in the console are refused, each costing a try of the
same lockout as a wrong UKey or password. Served on localhost: Chromium refuses an IP address as the
relying party."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, CDPSession, Page, expect

from deploy.stack import Stack
from services.auth.models import AuditRecord, HallSession

from ..integration.helpers import add_clean_employer, center_api
from .login_support import login_center

pytestmark = pytest.mark.integration

EMPLOYER_NO, EMPLOYER_NAME = "100100061", "太原市安全密钥演练有限公司"
PASSWORD = "111111"  # a clean account's password is already changed (add_clean_employer)
AUTHENTICATOR = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
                 "isUserVerified": True}


def bad_login(left: int) -> str:
    return f"登录失败：单位账号、登录名称、密码或UKey验证未通过，还可尝试{left}次"


@pytest.fixture(scope="module")
def employer(stack: Stack) -> Iterator[str]:
    """A clean employer bound to the demo UKey, security keys allowed by the center (its own API)."""
    add_clean_employer(stack, EMPLOYER_NO, EMPLOYER_NAME, "91140100MA0KEY6101")
    center = center_api(stack)
    allowed = center.call("PUT", "auth", f"/auth/webauthn/switches/{EMPLOYER_NO}", json={"allowed": True})
    assert allowed.status_code == 200, allowed.text
    yield EMPLOYER_NO


def with_authenticator(browser: Browser) -> tuple[Page, CDPSession, str]:
    page = browser.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return page, cdp, made["authenticatorId"]


def fill(page: Page, stack: Stack) -> None:
    page.goto(stack.public_url + "/login")
    page.get_by_label("缴存单位账号").fill(EMPLOYER_NO)
    page.get_by_label("登录名称").fill(EMPLOYER_NO)
    page.get_by_label("登录密码").fill(PASSWORD)


def key_login(page: Page, stack: Stack) -> None:
    fill(page, stack)
    page.get_by_role("button", name="使用安全密钥登录").click()


def signed_in(page: Page) -> None:
    """The hall's header names the employer (the clean employer has no payment account, so its home page
    answers 单位账户不存在: the 安全密钥 page is where the session shows)."""
    expect(page.locator(".employer-name")).to_have_text(EMPLOYER_NAME)
    page.get_by_role("link", name="安全密钥", exact=True).click()
    expect(page.locator("#security-keys")).to_contain_text("财务室USB密钥")


def refused_with(page: Page, text: str) -> None:
    expect(page.locator("main > .alert-error, #login-error").filter(has_text=text).first).to_be_visible()


def audit_actions(stack: Stack, action: str) -> list[Any]:
    engine = sa.create_engine(stack.database_url("auth"))
    with engine.connect() as connection:
        rows = list(connection.execute(sa.select(AuditRecord.detail).where(
            AuditRecord.action == action, AuditRecord.target == EMPLOYER_NO)))
    engine.dispose()
    return rows


def live_sessions(stack: Stack) -> int:
    engine = sa.create_engine(stack.database_url("auth"))
    with engine.connect() as connection:
        count = connection.scalar(sa.select(sa.func.count()).select_from(HallSession).where(
            HallSession.login_name == EMPLOYER_NO, HallSession.revoked_at.is_(None)))
    engine.dispose()
    return int(count or 0)


def test_enrol_log_in_without_the_agent_and_refuse_wrong_cloned_and_revoked_keys(
    browser: Browser, stack: Stack, employer: str
) -> None:
    page, cdp, authenticator = with_authenticator(browser)
    # The operator logs in with password and UKey (the agent runs) and registers a key on 安全密钥.
    fill(page, stack)
    page.get_by_label("UKey密码").fill("123456")
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_label(re.compile(EMPLOYER_NO)).check()
    page.get_by_role("button", name="确定").click()
    page.get_by_role("link", name="安全密钥", exact=True).click()
    expect(page.get_by_role("heading", name="安全密钥", exact=True)).to_be_visible()
    page.get_by_label("名称").fill("财务室USB密钥")
    page.get_by_role("button", name="添加安全密钥").click()
    expect(page.locator("#security-keys")).to_contain_text("财务室USB密钥")
    expect(page.get_by_role("alert")).to_contain_text("安全密钥“财务室USB密钥”已登记")
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]
    page.get_by_role("button", name="退出系统").click()

    stack.stop_process("agent")
    try:
        # Password and key, no agent: the authorization page offers the account's own employer only.
        key_login(page, stack)
        expect(page.locator("#select-form")).to_contain_text(EMPLOYER_NAME)
        assert page.locator("#select-form input[type=radio]").count() == 1
        page.get_by_label(re.compile(EMPLOYER_NO)).check()
        page.get_by_role("button", name="确定").click()
        signed_in(page)
        # A session the key opened adds no key (a stolen key must not plant another): the UKey's may.
        page.get_by_label("名称").fill("另一把密钥")
        page.get_by_role("button", name="添加安全密钥").click()
        expect(page.locator("#key-error")).to_have_text("请使用UKey登录后再登记安全密钥，或向中心申请登记码")
        page.get_by_role("button", name="退出系统").click()

        # A key the hall never registered (another authenticator's resident key for this site): a try.
        stranger, stranger_cdp, stranger_id = with_authenticator(browser)
        private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        stranger_cdp.send("WebAuthn.addCredential", {"authenticatorId": stranger_id, "credential": {
            "credentialId": base64.b64encode(b"a key the hall does not know").decode(), "isResidentCredential": True,
            "rpId": "localhost", "privateKey": base64.b64encode(private).decode(),
            "userHandle": base64.b64encode(b"stranger").decode(), "signCount": 0}})
        key_login(stranger, stack)
        refused_with(stranger, bad_login(4))
        stranger.close()

        # A copy of the registered key in another authenticator, its counter behind the original's.
        clone, clone_cdp, clone_id = with_authenticator(browser)
        clone_cdp.send("WebAuthn.addCredential", {"authenticatorId": clone_id,
                                                  "credential": {**credential, "signCount": 0}})
        key_login(clone, stack)
        refused_with(clone, bad_login(3))
        [regression] = audit_actions(stack, "webauthn_counter_regression")
        assert "疑似被复制" in regression.detail
        clone.close()

        # The original key still works; the center then revokes it in the console: its session ends.
        key_login(page, stack)
        page.get_by_label(re.compile(EMPLOYER_NO)).check()
        page.get_by_role("button", name="确定").click()
        signed_in(page)
        assert live_sessions(stack) == 1
        console = browser.new_page()
        login_center(console, stack)
        console.get_by_role("link", name="安全密钥", exact=True).click()
        row = console.locator("#webauthn-keys tr", has_text=EMPLOYER_NO)
        console.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="注销").click()
        expect(console.get_by_role("alert")).to_contain_text("安全密钥已注销")
        expect(row).to_contain_text("已注销")
        console.close()
        assert live_sessions(stack) == 0
        page.reload()  # the page of the ended session sends the operator to log in again
        expect(page).to_have_url(re.compile(r"/login"))
        # The success above ended the run of failures; the revoked key starts a new one, counted toward
        # the lockout exactly as a wrong UKey is, until the account locks.
        for left in (4, 3, 2, 1):
            key_login(page, stack)
            refused_with(page, bad_login(left))
        key_login(page, stack)
        refused_with(page, "账号已锁定")
    finally:
        stack.start_agent()
    page.close()


CODE_EMPLOYER, CODE_EMPLOYER_NAME = "100100062", "太原市登记码演练有限公司"


def test_an_operator_without_a_ukey_enrols_with_the_centers_one_time_code(browser: Browser, stack: Stack) -> None:
    add_clean_employer(stack, CODE_EMPLOYER, CODE_EMPLOYER_NAME, "91140100MA0KEY6202")
    console = browser.new_page()
    login_center(console, stack)
    console.get_by_role("link", name="安全密钥", exact=True).click()
    switch = console.locator("#webauthn-switches tr", has_text=CODE_EMPLOYER)
    expect(switch).to_contain_text("未开通")  # an employer the center has not decided on: not allowed
    switch.get_by_role("button", name="开通").click()
    expect(console.locator("#webauthn-switches tr", has_text=CODE_EMPLOYER)).to_contain_text("已开通")
    console.get_by_label("单位账号").select_option(CODE_EMPLOYER)
    console.get_by_role("button", name="发放登记码").click()
    shown = console.get_by_role("alert").filter(has_text="安全密钥登记码：").inner_text()
    found = re.search(r"登记码：([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})", shown)
    assert found, shown
    console.close()

    page, cdp, authenticator = with_authenticator(browser)
    stack.stop_process("agent")
    try:
        def enrol(code: str) -> None:
            page.goto(stack.public_url + "/login")
            page.get_by_role("link", name="登记安全密钥").click()
            page.get_by_label("缴存单位账号").fill(CODE_EMPLOYER)
            page.get_by_label("登录名称").fill(CODE_EMPLOYER)
            page.get_by_label("登录密码").fill(PASSWORD)
            page.get_by_label("登记码").fill(code)
            page.get_by_label("安全密钥名称").fill("出纳室密钥")
            page.get_by_role("button", name="登记安全密钥").click()

        enrol(found.group(1))
        expect(page.get_by_role("alert")).to_contain_text("安全密钥“出纳室密钥”已登记")
        assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
        # Spent: the same code again is refused like a wrong password (and counted).
        enrol(found.group(1))
        expect(page.locator("#key-error")).to_have_text(bad_login(4))
        page.goto(stack.public_url + "/login")
        page.get_by_label("缴存单位账号").fill(CODE_EMPLOYER)
        page.get_by_label("登录名称").fill(CODE_EMPLOYER)
        page.get_by_label("登录密码").fill(PASSWORD)
        page.get_by_role("button", name="使用安全密钥登录").click()
        page.get_by_label(re.compile(CODE_EMPLOYER)).check()
        page.get_by_role("button", name="确定").click()
        expect(page.locator(".employer-name")).to_have_text(CODE_EMPLOYER_NAME)
    finally:
        stack.start_agent()
    page.close()
