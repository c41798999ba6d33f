"""The home page of manual 1.2 against a real notify service app (in process): the employer's, its
account's and the operator's information above, the modules the account may use in the manual's
order (a module not built yet says so), the five tabs with their counts, and 我发起的 per operator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.permissions import ALL_PERMISSIONS

from .conftest import token_for
from .test_gateway_inbox import A
from .test_gateway_inbox import notify as notify  # noqa: F401  (the fixture: a real notify app)

MANUAL_ORDER = ["单位基本信息", "单位信息变更", "基数调整", "补缴", "单位信息查询", "缴存人登记", "缴存人信息变更",
                "缴存人信息查询", "启封", "封存", "零余额销户"]
PROFILE = {"name": "太原市示例科技有限公司", "employer_no": A, "fields": [
    {"name": "credit_code", "label": "统一社会信用代码", "value": "91140100MA0XXXXX1A", "editable": False},
    {"name": "status", "label": "单位账户状态", "value": "01 正常", "editable": False},
    {"name": "address", "label": "单位地址", "value": "山西省太原市小店区长治路100号", "editable": True},
    {"name": "contact_name", "label": "经办人姓名", "value": "王晓燕", "editable": True},
    {"name": "contact_mobile", "label": "经办人手机", "value": "13800000000", "editable": True},
]}


@pytest.fixture
def hall_services(notify: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:  # noqa: F811
    """The notify fixture's services, with the employer's registered fields and its account figures."""
    through = ServiceClient.request

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        if self.service == "employer":
            return PROFILE
        if self.service == "payment":
            return {"employer_no": A, "balance": "1234567.89", "unallocated": "0.50", "member_accounts": 120}
        return through(self, method, path, params, json)

    monkeypatch.setattr(ServiceClient, "request", request)
    yield notify


def operator(login: str, name: str = "王晓燕", perms: list[str] | None = None) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(employer_no=A, login_name=login), "expires_at": time.time() + 3600,
            "last_active": time.time(), "sound_enabled": False,
            "principal": {"name": name, "sub": login, "emp": A, "emp_name": "太原市示例科技有限公司",
                          "perms": ALL_PERMISSIONS if perms is None else perms}}
    return client


def modules(page: str) -> list[tuple[str, str]]:
    """The module tiles as (name, what a click does: the link, or the visible remark)."""
    section = re.search(r'<section class="card modules".*?</section>', page, re.S)
    assert section is not None
    tiles = re.findall(r'<a class="module" data-module="\w+" href="([^"]+)">([^<]+)</a>'
                       r'|<span class="module disabled" data-module="\w+"><span class="name">([^<]+)</span>'
                       r'<small class="soon">([^<]+)</small>',
                       section.group(0))
    return [(name or name_off, href or remark) for href, name, name_off, remark in tiles]


def tabs(page: str) -> dict[str, int]:
    return {label: int(n) for label, n in re.findall(r'data-box="\w+"[^>]*>(\S+) <span class="count">(\d+)</span>',
                                                    page)}


def start(app: Flask, instance_id: int, login: str, name: str = "王晓燕", returned: bool = False) -> None:
    """A process of employer A as the workflow reports it: started by ``login`` (returned once)."""
    common = {"instance_id": instance_id, "business_type": "employer_change", "business_id": str(instance_id),
              "title": "单位信息变更", "employer_no": A, "employer_name": "太原市示例科技有限公司",
              "initiator": name, "initiator_login": login}
    steps: list[tuple[str, dict[str, Any]]] = [("process.started", {"summary": "单位地址"})]
    if returned:
        steps.append(("process.returned", {"task_name": "经办审核", "handler": "中心审核员李明",
                                           "opinion": "邮编与地址不符"}))
    with app.app_context():
        for seq, (type_, data) in enumerate(steps, start=1):
            consume(make_event("workflow", type_, dict(common, **data, seq=seq, at=f"2026-11-28T03:0{seq}:00Z")))


def test_the_information_above_the_modules(hall_services: Flask) -> None:
    page = operator("wangxy").get("/").get_data(as_text=True)
    basic = re.search(r'<dl id="employer-basic">(.*?)</dl>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "太原市示例科技有限公司" in basic and A in basic
    assert "<dt>统一社会信用代码</dt><dd>91140100MA0XXXXX1A</dd>" in basic and "<dd>01 正常</dd>" in basic
    assert "单位地址" not in basic  # the change page's business, not the summary's
    account = re.search(r'<dl id="employer-account">(.*?)</dl>', page, re.S).group(1)  # type: ignore[union-attr]
    # Amounts with thousands separators, exact (Decimal, never a float's rounding).
    assert "<dd>1,234,567.89 元</dd>" in account and "<dd>0.50 元</dd>" in account and "<dd>120 人</dd>" in account
    person = re.search(r'<dl id="operator">(.*?)</dl>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "<dt>登录名称</dt><dd>wangxy</dd>" in person and "<dt>经办人手机</dt><dd>13800000000</dd>" in person


def test_the_eleven_modules_in_the_manuals_order_each_opening_its_page(hall_services: Flask) -> None:
    page = operator("wangxy").get("/").get_data(as_text=True)
    tiles = modules(page)
    assert [name for name, _ in tiles] == MANUAL_ORDER
    # Every one is built: a link to its page, none says 暂未开放.
    built = {"单位基本信息": "/employer/info", "单位信息变更": "/employer/change", "缴存人登记": "/members/register",
             "缴存人信息查询": "/members/query", "启封": "/members/unseal", "封存": "/members/seal",
             "缴存人信息变更": "/members/change",
             "基数调整": "/members/base-adjust", "零余额销户": "/employer/closure",
             "单位信息查询": "/employer/queries", "补缴": "/supplement"}
    assert dict(tiles) == built
    assert "暂未开放" not in page


def test_modules_the_account_lacks_are_hidden(hall_services: Flask) -> None:
    some = operator("lisi", "李四", ["seal", "employer_change", "member_query"]).get("/").get_data(as_text=True)
    assert modules(some) == [("单位信息变更", "/employer/change"), ("缴存人信息查询", "/members/query"),
                             ("封存", "/members/seal")]
    none = operator("zhaoliu", "赵六", []).get("/").get_data(as_text=True)
    assert modules(none) == [] and "当前账号未分配业务权限" in none
    # The hidden module's page refuses the account too (not only the tile is gone).
    refused = operator("lisi", "李四", ["seal"]).get("/employer/change")
    assert refused.status_code == 302 and refused.headers["Location"] == "/"


def test_each_tab_counts_its_box(hall_services: Flask) -> None:
    start(hall_services, 1, "wangxy", returned=True)
    start(hall_services, 2, "wangxy")
    page = operator("wangxy").get("/").get_data(as_text=True)
    # The return is announced in 消息 as well (the fixture's eleven messages and this one).
    assert tabs(page) == {"消息": 12, "待办": 1, "已办": 0, "我发起的": 2, "已阅": 0}


def test_my_initiated_is_the_operators_own_while_the_other_boxes_are_the_employers(hall_services: Flask) -> None:
    # Two operators of one employer, the same display name: the login name tells them apart.
    start(hall_services, 1, "wangxy")
    start(hall_services, 2, "wangxy2", returned=True)
    start(hall_services, 3, "wangxy")
    first, second = operator("wangxy"), operator("wangxy2")
    home = first.get("/?box=initiated").get_data(as_text=True)
    assert tabs(home)["我发起的"] == 2 and tabs(home)["待办"] == 1
    assert re.findall(r'href="/processes/(\d+)">查看', home) == ["3", "1"]
    more = first.get("/inbox/initiated").get_data(as_text=True)
    assert re.findall(r'href="/processes/(\d+)">查看', more) == ["3", "1"]
    theirs = second.get("/?box=initiated").get_data(as_text=True)
    assert tabs(theirs)["我发起的"] == 1 and re.findall(r'href="/processes/(\d+)">查看', theirs) == ["2"]
    # 待办 is the employer's: the first operator may handle the second one's return.
    todo = first.get("/?box=todo").get_data(as_text=True)
    assert re.findall(r'href="/processes/(\d+)">打开', todo) == ["2"]
    # The tab is marked so the live counts (the employer's) do not overwrite the operator's own.
    assert 'data-box="initiated" data-own="operator"' in home
