"""The login page offers the agent (联连客户端) and says whether it runs on this PC; a signed-in page
warns before the idle timeout and returns to the login page after it."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from io import BytesIO

import httpx
import pytest
from playwright.sync_api import Browser, expect

from deploy import agent_wheel
from deploy import demo_data as demo
from deploy.stack import BIN, Stack, free_port

from .login_support import login_employer


def test_the_login_page_finds_the_agent_and_its_ukey_or_says_how_to_start_it(browser: Browser, stack: Stack) -> None:
    if agent_wheel.wheel_path() is None:  # `make` builds it at setup; a bare checkout builds it here
        agent_wheel.build()
    page = browser.new_page()
    status = page.locator("#agent-status")
    stack.stop_process("agent")
    try:
        page.goto(stack.url("gateway") + "/login")
        expect(status).to_have_attribute("data-state", "missing")
        expect(status).to_contain_text("未检测到联连客户端")
        # What the hint points at: the download and the one-line commands.
        download = page.locator("#agent-download")
        expect(download).to_have_text("下载联连客户端")
        expect(page.locator("#agent-command-windows")).to_contain_text("py -m pip install --user")
        expect(page.locator("#agent-command-linux")).to_contain_text("hall-ukey-agent --origin "
                                                                     + stack.url("gateway"))
        wheel = httpx.get(download.get_attribute("href") or "", timeout=10)
        assert wheel.status_code == 200
        assert "ukey_agent/server.py" in zipfile.ZipFile(BytesIO(wheel.content)).namelist()
    finally:
        stack.start_agent()
    page.get_by_role("button", name="重新检测").click()
    expect(status).to_have_attribute("data-state", "ok")
    expect(status).to_contain_text(f"联连客户端已启动，检测到UKey：{demo.UKEY_LABEL}")


@pytest.fixture
def short_idle_gateway(stack: Stack) -> Iterator[str]:
    """A second gateway on the same secret and services whose idle timeout is 6 s (warning at 4 s).
    The browser's session cookie is per host, so a login at the main gateway is valid here."""
    name, port = "gateway-idle", free_port()
    saved = dict(stack.extra_env)
    stack.extra_env.update({"HALL_SESSION_IDLE_SECONDS": "6", "HALL_SESSION_IDLE_WARNING_SECONDS": "4"})
    try:
        stack.spawn(name, [str(BIN / "gunicorn"), "-k", "gateway.asgi.Worker", "-w", "1",
                           "--no-control-socket", "-b", f"127.0.0.1:{port}", "gateway.asgi:create_asgi()"])
    finally:
        stack.extra_env = saved
    url = f"http://127.0.0.1:{port}"
    try:
        stack._wait_http(url + "/login", name)
        yield url
    finally:
        stack.stop_process(name)


def test_an_idle_page_warns_then_returns_to_the_login_page(browser: Browser, stack: Stack,
                                                           short_idle_gateway: str) -> None:
    page = browser.new_page()
    login_employer(page, stack)
    page.goto(short_idle_gateway + "/")
    expect(page.locator("#employer-name")).to_have_text(demo.EMPLOYER_NAME)
    warning = page.locator("#idle-warning")
    expect(warning).to_be_hidden()
    expect(warning).to_contain_text("秒后自动退出", timeout=6000)

    # 继续办理 starts the clock again.
    page.get_by_role("button", name="继续办理").click()
    expect(warning).to_be_hidden()
    expect(page).to_have_url(short_idle_gateway + "/")

    # Left alone: the warning again, then the login page saying why.
    expect(warning).to_be_visible(timeout=6000)
    expect(page).to_have_url(re.compile(r"/login"), timeout=10000)
    expect(page.get_by_role("alert").first).to_have_text("长时间未操作，已自动退出，请重新登录")
    # The session is over, not only hidden: a business page asks for the login again.
    page.goto(short_idle_gateway + "/employer/change")
    expect(page).to_have_url(re.compile(r"/login"))
