"""The center admin's 服务令牌 page: 签发 shows the new token once, 撤销 asks first, and the withdrawn
token is refused by the notify service within seconds."""

from __future__ import annotations

import time
import uuid

import httpx
from playwright.sync_api import Browser, expect

from deploy.stack import Stack

from .test_admin_console_page import login_center


def test_an_admin_issues_a_token_sees_it_once_and_withdraws_it(browser: Browser, stack: Stack) -> None:
    name = f"browser-{uuid.uuid4().hex[:8]}"
    page = browser.new_page()
    login_center(page, stack)
    page.get_by_role("link", name="服务令牌").click()
    expect(page.get_by_role("heading", name="服务令牌", exact=True)).to_be_visible()

    form = page.locator("#token-issue")
    form.get_by_label("系统名称").fill(name)
    form.get_by_label("推送消息").check()
    form.get_by_label("有效期（天）").fill("30")
    page.get_by_role("button", name="签发").click()
    expect(page.get_by_role("heading", name="服务令牌已签发，请立即复制保存，关闭后无法再次查看")).to_be_visible()
    token = page.locator("#token-value").inner_text().strip()
    assert token.count(".") == 2  # a JWT
    row = page.locator("#service-tokens tbody tr", has_text=name)
    expect(row).to_contain_text("推送消息")
    expect(row.locator(".status")).to_have_text("有效")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(stack.url("notify") + "/pushes", headers=headers, timeout=10).status_code == 200

    # Shown once: the list page itself never carries it.
    page.get_by_role("link", name="服务令牌").click()
    expect(page.locator("#token-value")).to_have_count(0)

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="撤销").click()
    expect(row.locator(".status")).to_have_text("有效")  # declined: nothing happened
    assert asked == [f"确定撤销「{name}」的服务令牌？撤销后该系统将无法再调用大厅的服务。"]
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="撤销").click()
    expect(page.get_by_role("alert")).to_have_text(f"已撤销服务令牌「{name}」，各服务将在数秒内拒绝该令牌")
    expect(row.locator(".status")).to_contain_text("已撤销")
    expect(row.get_by_role("button", name="撤销")).to_have_count(0)

    deadline = time.monotonic() + 10
    while httpx.get(stack.url("notify") + "/pushes", headers=headers, timeout=10).status_code != 401:
        assert time.monotonic() < deadline, "notify still accepts the withdrawn token after 10 s"
        time.sleep(0.2)
