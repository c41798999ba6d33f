"""The gateway's 缴存人信息变更 page against the real member service app (in process): the member chosen
and echoed (greyed items disabled, coded items a choice), 保存 with a refusal at its field, the change
in approval read-only, a returned one corrected and 重新提交, the pending list, and who may not."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from deploy import demo_data
from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_PERMISSIONS

from .conftest import EMPLOYER_NO, make_app, token_for
from .member_support import decide

NORMAL = [m for m in demo_data.members() if m["status"] == "01"]
FROZEN = [m for m in demo_data.members() if m["status"] == "06"]


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The member service in process; the workflow has not started the process yet (its path: 404)."""
    app = make_app("member")

    def request(client: ServiceClient, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        if client.service == "workflow":
            raise ServiceError("workflow", 404, "流程实例不存在")
        assert client.service == "member"
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        response = app.test_client().open(path + query, method=method, json=json, headers=dict(client.headers))
        if response.status_code >= 400:
            found = response.get_json() or {}
            raise ServiceError("member", response.status_code, found.get("message", ""), found.get("errors"))
        return response.get_json()

    monkeypatch.setattr(ServiceClient, "request", request)
    return app


def operator(perms: list[str] | None = None) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(), "expires_at": time.time() + 3600, "last_active": time.time(),
            "sound_enabled": False, "principal": {"name": "王晓燕", "sub": EMPLOYER_NO, "emp": EMPLOYER_NO,
                                                  "emp_name": "太原市示例科技有限公司",
                                                  "perms": ALL_PERMISSIONS if perms is None else perms}}
    return client


def page_of(client: FlaskClient, member_no: str = "") -> str:
    response = client.get("/members/change" + (f"?member_no={member_no}" if member_no else ""))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_chosen_member_is_echoed_greyed_items_disabled_coded_items_a_choice(member: Flask) -> None:
    client = operator()
    empty = page_of(client)
    assert 'id="member-picker"' in empty and 'id="change-form"' not in empty and "暂无未审批完成的变更业务" in empty
    chosen = NORMAL[0]
    page = page_of(client, chosen["member_no"])
    assert f'<input value="{chosen["name"]}" disabled>' in page
    assert f'<input value="{chosen["id_number"]}" disabled>' in page
    assert '<select name="education" data-label="学历" data-original="">' in page
    assert '<option value="21">21 本科</option>' in page and '<option value="20">20 已婚</option>' in page
    assert '<input name="landline" data-label="固定电话"' in page and 'id="submit-change">保存</button>' in page


def test_save_submits_and_the_member_then_shows_in_approval_read_only(member: Flask) -> None:
    client = operator()
    chosen = NORMAL[1]["member_no"]
    answer = client.post("/members/change", data={"member_no": chosen, "education": "21", "landline": "0351-7654321",
                                                   "postcode": ""})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/members/change?member_no={chosen}"
    page = page_of(client, chosen)
    assert "已提交至中心审核" in page
    assert "缴存人存在未审批完成的变更业务，请等待中心审批完成后再次提交。" in page and 'id="change-form"' not in page
    roster = re.search(r'<table id="pending-roster">(.*?)</table>', page, re.S)
    assert roster is not None and "<td>学历</td><td></td><td>21 本科</td>" in roster.group(1)
    assert "<td>0351-7654321</td>" in roster.group(1)
    listed = re.search(r'<table id="pending-changes">(.*?)</table>', page, re.S)
    assert listed is not None and chosen in listed.group(1) and "审批中" in listed.group(1)
    # A second save for the member is refused by the service, not stored twice.
    again = client.post("/members/change", data={"member_no": chosen, "education": "14"})
    assert again.status_code == 200 and "<td>学历</td>" in again.get_data(as_text=True)


def test_a_refused_row_is_shown_at_its_field_with_the_values_kept(member: Flask) -> None:
    client = operator()
    chosen = NORMAL[2]["member_no"]
    answer = client.post("/members/change", data={"member_no": chosen, "postcode": "0300", "duty": "科长"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "第1行 邮政编码：邮政编码格式不正确，应为6位数字" in page
    assert '<span class="field-error" id="error-postcode">邮政编码格式不正确，应为6位数字</span>' in page
    assert 'name="duty" data-label="职务" data-original="" value="科长"' in page
    assert "暂无未审批完成的变更业务" in page


def test_a_returned_change_is_corrected_and_resubmitted(member: Flask) -> None:
    client = operator()
    chosen = NORMAL[3]["member_no"]
    client.post("/members/change", data={"member_no": chosen, "marital_status": "10", "title": "工程师"})
    [business_id] = re.findall(r'<tr data-request="(\d+)">', page_of(client))
    assert decide(member, "member_change", business_id, "business.returned", opinion="婚姻状况有误") == "processed"
    page = page_of(client, chosen)
    assert '<span id="return-opinion">婚姻状况有误</span>' in page
    assert '<option value="10" selected>10 未婚</option>' in page  # the returned rows are where it starts
    assert 'id="submit-change">重新提交</button>' in page and 'id="end-form"' in page
    assert re.search(r"<td>已退回</td>\s*<td><a [^>]*>修改</a>", page)
    answer = client.post("/members/change", data={"member_no": chosen, "marital_status": "20", "title": "工程师"})
    assert answer.status_code == 302
    again = page_of(client, chosen)
    assert "已提交至中心审核" in again and 'id="change-form"' not in again
    assert decide(member, "member_change", business_id) == "processed"
    history = member.test_client().get(f"/employers/{EMPLOYER_NO}/queries/member-changes?member_no={chosen}",
                                       headers={"Authorization": f"Bearer {token_for()}"}).get_json()
    assert [(i["label"], i["new_value"]) for i in history["items"]] == [("职称", "工程师"), ("婚姻状况", "20 已婚")]


def test_a_frozen_member_offers_no_form_and_an_account_without_the_right_is_sent_home(member: Flask) -> None:
    page = page_of(operator(), FROZEN[0]["member_no"])
    assert "该缴存人账户状态不能办理信息变更。" in page and 'id="change-form"' not in page
    refused = operator(["member_query"]).get("/members/change")
    assert refused.status_code == 302 and refused.headers["Location"] == "/"
    assert operator(["member_query"]).post("/members/change", data={"member_no": NORMAL[0]["member_no"]}) \
        .status_code == 302
