"""补缴's page through the gateway, the gateway's calls answered by the real payment service (and the
real member service for the type-ahead and the payment service's member lookup): the page drawn from
the 补缴 form, 录入 answered with the amount, 提交 refused on a shortfall then accepted, and an account
without the permission sent home."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from gateway.views import MODULE_PAGES
from hall_common.client import ServiceClient, ServiceError

from .conftest import EMPLOYER_NO, make_app, token_for
from .supplement_support import NORMAL, fund, with_members

PAGE = "/supplement"


def flashed(page: str) -> list[str]:
    return re.findall(r'role="alert">([^<]*)</div>', page)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> dict[str, Flask]:
    """The gateway's service calls answered in-process by the services' own apps."""
    apps = {"member": with_members(monkeypatch), "payment": make_app("payment")}

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        answer = apps[self.service].test_client().open(path, method=method, query_string=params, json=json,
                                                       headers=self.headers)
        body = answer.get_json(silent=True) or {}
        if answer.status_code >= 400:
            raise ServiceError(self.service, answer.status_code, body.get("message", ""), body.get("errors"))
        return body

    monkeypatch.setattr(ServiceClient, "request", request)
    return apps


def operator(perms: tuple[str, ...]) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(perms=perms), "expires_at": time.time() + 3600, "last_active": time.time(),
            "sound_enabled": False,
            "principal": {"name": "王晓燕", "sub": EMPLOYER_NO, "emp": EMPLOYER_NO,
                          "emp_name": "太原市示例科技有限公司", "perms": list(perms)}}
    return client


def test_the_tile_opens_the_supplement_page_drawn_from_the_form(services: dict[str, Flask]) -> None:
    assert MODULE_PAGES["supplement"] == "hall.supplement"
    page = operator(("supplement",)).get(PAGE).get_data(as_text=True)
    assert "<h1>补缴</h1>" in page
    for label in ("个人账号", "补缴原因", "补缴年月", "补缴金额"):
        assert f"{label}" in page
    assert 'id="member-picker"' in page and 'id="echo-name"' in page and 'id="echo-id"' in page
    assert '<option value="外省市转入补缴">外省市转入补缴</option>' in page
    assert ">录入</button>" in page and ">提交</button>" in page
    assert 'href="/members/roster/supplementary_payment/template"' in page
    assert "本单位未分配金额：0.00元" in page
    fund(services["payment"], "12345.6")
    assert "本单位未分配金额：12,345.60元" in operator(("supplement",)).get(PAGE).get_data(as_text=True)


def test_entry_then_submit_refused_on_a_shortfall_then_accepted(services: dict[str, Flask]) -> None:
    client = operator(("supplement",))
    member = NORMAL[0]
    answer = client.post(PAGE, data={"member_no": member["member_no"], "reason": "漏缴补缴", "month": "202501",
                                     "amount": "800", "echo_name": member["name"],
                                     "echo_id_number": member["id_number"]})
    assert answer.status_code == 302 and answer.headers["Location"] == PAGE
    page = client.get(PAGE).get_data(as_text=True)
    assert flashed(page) == ["录入成功，补缴金额800.00元"]
    assert member["name"] in page and member["id_number"] in page and "800.00" in page
    refused = client.post(PAGE, data={"member_no": member["member_no"], "reason": "漏缴补缴", "month": "202501",
                                      "amount": "5"}).get_data(as_text=True)
    assert "2025年01月的补缴已在清册中或已提交审核，不得重复录入" in refused
    client.post("/members/roster/supplementary_payment/commit", data={"scope": "all"})
    assert flashed(client.get(PAGE).get_data(as_text=True)) == ["未分配金额不足：需800.00元，现有0.00元，差额800.00元"]
    fund(services["payment"], "1000.00")
    client.post("/members/roster/supplementary_payment/commit", data={"scope": "all"})
    page = client.get(PAGE).get_data(as_text=True)
    assert flashed(page) == ["补缴清册已提交中心审核，审批结果将以消息通知"]
    assert member["id_number"] not in page  # the roster is empty again: its rows went with the business


def test_the_type_ahead_serves_the_supplement_permission_and_others_are_sent_home(
    services: dict[str, Flask]
) -> None:
    member = NORMAL[0]
    found = operator(("supplement",)).get(f"/members/search?q={member['member_no']}").get_json()
    assert [m["name"] for m in found["items"]] == [member["name"]]
    other = operator(("member_query",))
    answer = other.get(PAGE)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    with other.session_transaction() as session:
        assert ("error", "当前账号无权办理该业务") in session["_flashes"]
