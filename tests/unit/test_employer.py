"""Employer info change (manual ch. 3) in the employer service."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import EMPLOYER_NO, make_app, outbox_events

BASE = f"/employers/{EMPLOYER_NO}"


@pytest.fixture
def app() -> Flask:
    return make_app("employer")


def submit(app: Flask, headers: dict[str, str], changes: list[dict[str, str]]) -> Any:
    return app.test_client().post(f"{BASE}/change-requests", json={"changes": changes}, headers=headers)


def field_values(app: Flask, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    body = app.test_client().get(BASE, headers=headers).get_json()
    return {f["name"]: f for f in body["fields"]}


def test_profile_shows_greyed_and_editable_fields(app: Flask, employer_headers: dict[str, str]) -> None:
    fields = field_values(app, employer_headers)
    assert fields["name"]["value"] == "太原市示例科技有限公司"
    assert fields["name"]["editable"] is False
    assert fields["credit_code"]["editable"] is False
    assert fields["address"]["editable"] is True
    assert fields["status"]["value"] == "01 正常"


def test_submit_stores_request_and_outbox_event_together(app: Flask, employer_headers: dict[str, str]) -> None:
    response = submit(app, employer_headers, [{"field": "address", "value": "山西省太原市迎泽区新建路1号"}])
    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] == "已提交至中心审核"
    assert body["request"]["status"] == "in_approval"
    assert body["request"]["changes"] == [
        {"field": "address", "label": "单位地址",
         "old": "山西省太原市小店区长治路100号", "new": "山西省太原市迎泽区新建路1号"}
    ]
    [event] = outbox_events(app)
    assert event["type"] == "business.submitted"
    assert event["data"]["business_type"] == "employer_change"
    assert event["data"]["business_id"] == str(body["request"]["id"])
    # The operator as the employer sees it and by login name (我发起的 is per operator).
    assert (event["data"]["initiator"], event["data"]["initiator_login"]) == ("王晓燕", EMPLOYER_NO)
    # Not applied before approval.
    assert field_values(app, employer_headers)["address"]["value"] == "山西省太原市小店区长治路100号"


def test_second_submission_in_approval_is_refused_and_stores_nothing(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    assert submit(app, employer_headers, [{"field": "postcode", "value": "030001"}]).status_code == 201
    again = submit(app, employer_headers, [{"field": "phone", "value": "0351-1111111"}])
    assert again.status_code == 409
    assert again.get_json()["message"] == "存在未审批完成的单位信息变更业务"
    requests = app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert len(requests) == 1
    assert len(outbox_events(app)) == 1


def test_bad_rows_are_named_and_nothing_is_stored(app: Flask, employer_headers: dict[str, str]) -> None:
    response = submit(app, employer_headers, [
        {"field": "address", "value": "新地址1号"},
        {"field": "postcode", "value": "03000"},
        {"field": "name", "value": "另一个名称"},
        {"field": "contact_mobile", "value": "12345"},
    ])
    assert response.status_code == 422
    body = response.get_json()
    assert "第2行 邮政编码：邮政编码格式不正确，应为6位数字" in body["message"]
    assert "第3行 单位名称：置灰项不允许修改" in body["message"]
    assert "第4行 经办人手机" in body["message"]
    assert set(body["errors"]["json"]["changes"]) == {"1", "2", "3"}
    assert app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json() == []
    assert outbox_events(app) == []


def test_empty_roster_and_unchanged_value_are_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    empty = submit(app, employer_headers, [])
    assert empty.status_code == 422
    assert empty.get_json()["message"] == "待变更清册为空，请先修改需变更的项目"
    same = submit(app, employer_headers, [{"field": "postcode", "value": "030006"}])
    assert same.status_code == 422
    assert "变更后的内容与原内容相同" in same.get_json()["message"]


def test_other_employer_and_anonymous_are_refused(
    app: Flask, other_employer_headers: dict[str, str], center_headers: dict[str, str]
) -> None:
    client = app.test_client()
    assert client.get(BASE).status_code == 401
    assert client.get(BASE).get_json()["message"] == "请先登录"
    for response in (
        client.get(BASE, headers=other_employer_headers),
        client.get(f"{BASE}/change-history", headers=other_employer_headers),
        submit(app, other_employer_headers, [{"field": "postcode", "value": "030001"}]),
    ):
        assert response.status_code == 403
        assert response.get_json()["message"] == "无权访问其他单位的数据"
    # The center sees the employer but does not file business in its name.
    assert client.get(BASE, headers=center_headers).status_code == 200
    assert submit(app, center_headers, [{"field": "postcode", "value": "030001"}]).status_code == 403


def test_an_account_without_the_permission_cannot_submit(app: Flask) -> None:
    from .conftest import auth, token_for

    queries_only = auth(token_for(perms=("employer_info", "employer_query")))
    refused = submit(app, queries_only, [{"field": "postcode", "value": "030001"}])
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "当前账号无权办理该业务"
    assert app.test_client().get(f"{BASE}/change-history", headers=queries_only).status_code == 200
    no_query = auth(token_for(perms=("employer_change",)))
    assert app.test_client().get(f"{BASE}/change-history", headers=no_query).status_code == 403


def test_tampered_token_is_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    token = employer_headers["Authorization"]
    response = app.test_client().get(BASE, headers={"Authorization": token[:-4] + "AAAA"})
    assert response.status_code == 401
    assert response.get_json()["message"] == "登录凭证无效，请重新登录"


def _outcome(app: Flask, request_id: int, approved: bool, opinion: str = "") -> dict[str, Any]:
    with app.app_context():
        return make_event("workflow", "business.approved" if approved else "business.rejected", {
            "business_type": "employer_change", "business_id": str(request_id), "owner": "employer",
            "employer_no": EMPLOYER_NO, "approver": "中心审核员李明", "opinion": opinion,
        })


def test_approval_applies_change_records_history_once(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(app, employer_headers, [
        {"field": "address", "value": "新地址1号"}, {"field": "phone", "value": "13800001111"},
    ]).get_json()["request"]["id"]
    event = _outcome(app, request_id, approved=True, opinion="同意")
    with app.app_context():
        assert consume(event) == "processed"
        assert consume(event) == "duplicate"
    fields = field_values(app, employer_headers)
    assert fields["address"]["value"] == "新地址1号"
    assert fields["phone"]["value"] == "13800001111"
    history = app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json()
    assert [(h["label"], h["old_value"], h["new_value"], h["operator"], h["approver"]) for h in history] == [
        ("单位地址", "山西省太原市小店区长治路100号", "新地址1号", "王晓燕", "中心审核员李明"),
        ("单位联系电话", "0351-7654321", "13800001111", "王晓燕", "中心审核员李明"),
    ]
    domain = [e for e in outbox_events(app) if e["type"] == "employer.info_changed"]
    assert len(domain) == 1
    assert domain[0]["data"]["employer_name"] == "太原市示例科技有限公司"
    # A new submission is possible again once the first one is decided.
    assert submit(app, employer_headers, [{"field": "postcode", "value": "030001"}]).status_code == 201


def test_rejection_changes_nothing_and_tells_the_opinion(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(app, employer_headers, [{"field": "address", "value": "新地址2号"}]).get_json()["request"]["id"]
    with app.app_context():
        consume(_outcome(app, request_id, approved=False, opinion="地址与营业执照不符"))
    assert field_values(app, employer_headers)["address"]["value"] == "山西省太原市小店区长治路100号"
    assert app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json() == []
    [rejected] = [e for e in outbox_events(app) if e["type"] == "employer.info_change_rejected"]
    assert rejected["data"]["opinion"] == "地址与营业执照不符"
    requests = app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert requests[0]["status"] == "rejected"


def test_history_query_by_date_range(app: Flask, employer_headers: dict[str, str]) -> None:
    bad = app.test_client().get(
        f"{BASE}/change-history?start_date=2026-02-01&end_date=2026-01-01", headers=employer_headers
    )
    assert bad.status_code == 422
    assert bad.get_json()["message"] == "开始日期不能晚于结束日期"
    invalid = app.test_client().get(f"{BASE}/change-history?start_date=2026-02-30", headers=employer_headers)
    assert invalid.status_code == 422
    assert "有效日期" in invalid.get_json()["message"]


def test_history_dates_at_the_calendar_edges_answer_not_500(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(app, employer_headers, [{"field": "address", "value": "新地址3号"}]).get_json()["request"]["id"]
    with app.app_context():
        consume(_outcome(app, request_id, approved=True, opinion="同意"))
    client = app.test_client()
    edges = "start_date=0001-01-01&end_date=9999-12-31"
    everything = client.get(f"{BASE}/change-history?{edges}", headers=employer_headers)
    assert everything.status_code == 200
    assert [h["new_value"] for h in everything.get_json()] == ["新地址3号"]
    assert client.get(f"{BASE}/change-history?start_date=9999-12-31", headers=employer_headers).get_json() == []


def test_a_roster_longer_than_the_profile_is_refused_at_once(app: Flask, employer_headers: dict[str, str]) -> None:
    from services.employer.schemas import MAX_ROWS

    response = submit(app, employer_headers, [{"field": "address", "value": "新地址4号"}] * 100_000)
    assert response.status_code == 422
    assert response.get_json()["message"] == f"待变更清册最多{MAX_ROWS}行"
    assert len(response.get_data()) < 1000  # one error, not one per row


def test_a_too_long_value_is_refused_naming_its_row_and_field(app: Flask, employer_headers: dict[str, str]) -> None:
    fields = field_values(app, employer_headers)
    assert (fields["address"]["max_length"], fields["postcode"]["max_length"], fields["name"]["max_length"]) == (
        200, 6, None)
    response = submit(app, employer_headers, [{"field": "postcode", "value": "030001"},
                                              {"field": "address", "value": "长" * 2000}])
    assert response.status_code == 422
    assert response.get_json()["message"] == "第2行 单位地址：单位地址不能超过200个字"
    assert set(response.get_json()["errors"]["json"]["changes"]) == {"1"}
    assert outbox_events(app) == []
