"""A returned employer change: kept with its data and the reviewer's opinion, corrected and resubmitted
once, or ended (结束流程) so that a new one may be submitted."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common.consumer import consume
from hall_common.events import make_event

from ..threads import at_once
from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, AnyDb, auth, make_app, outbox_events, token_for
from .employer_support import BASE, current, resubmit, submit

ORIGINAL_ADDRESS = "山西省太原市小店区长治路100号"


@pytest.fixture
def app() -> Flask:
    return make_app("employer")


def deliver(app: Flask, event_type: str, request_id: int, **data: Any) -> str:
    event = make_event("workflow", event_type, {
        "business_type": "employer_change", "business_id": str(request_id), "owner": "employer",
        "employer_no": EMPLOYER_NO, "instance_id": 31, **data,
    })
    with app.app_context():
        return consume(event)


def answer(response: Any) -> tuple[int, str]:
    return response.status_code, response.get_json()["message"]


def returned_request(app: Flask, headers: dict[str, str]) -> int:
    request_id = submit(app, headers, {"address": "新地址1号", "postcode": "030001"})
    assert deliver(app, "business.returned", request_id, approver="复核员张敏", opinion="邮编与地址不符") == "processed"
    return request_id


def test_a_returned_request_keeps_its_rows_and_the_opinion_and_stays_pending(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    assert current(app, employer_headers) is None
    request_id = returned_request(app, employer_headers)
    pending = current(app, employer_headers)
    assert (pending["id"], pending["status"], pending["status_name"]) == (request_id, "returned", "已退回")
    assert (pending["opinion"], pending["approver"], pending["instance_id"]) == ("邮编与地址不符", "复核员张敏", 31)
    assert pending["returned_at"] is not None
    assert [(r["label"], r["new"]) for r in pending["changes"]] == [("单位地址", "新地址1号"), ("邮政编码", "030001")]
    # Still pending: a new submission is refused until it is resubmitted and decided, or ended.
    again = app.test_client().post(f"{BASE}/change-requests", headers=employer_headers,
                                   json={"changes": [{"field": "phone", "value": "0351-1111111"}]})
    assert (again.status_code, again.get_json()["message"]) == (409, "存在未审批完成的单位信息变更业务")
    profile = app.test_client().get(BASE, headers=employer_headers).get_json()
    assert profile["pending_request_id"] == request_id
    # Nothing applied, no domain event: a return is not a decision.
    assert profile["fields"][[f["name"] for f in profile["fields"]].index("address")]["value"] == ORIGINAL_ADDRESS
    assert [e["type"] for e in outbox_events(app)] == ["business.submitted"]


def test_resubmission_replaces_the_rows_emits_once_and_the_approval_applies_the_corrected_data(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    request_id = returned_request(app, employer_headers)
    response = resubmit(app, employer_headers, request_id, {"address": "新地址1号", "postcode": "030009"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["message"] == "已提交至中心审核"
    assert (body["request"]["id"], body["request"]["status"]) == (request_id, "in_approval")
    assert [(r["label"], r["old"], r["new"]) for r in body["request"]["changes"]] == [
        ("单位地址", ORIGINAL_ADDRESS, "新地址1号"), ("邮政编码", "030006", "030009"),
    ]
    submitted, resubmitted = outbox_events(app)
    assert resubmitted["type"] == "business.resubmitted"
    assert resubmitted["data"]["business_id"] == str(request_id)
    assert resubmitted["data"]["summary"] == "单位地址、邮政编码"
    assert set(resubmitted["data"]) == set(submitted["data"])
    # Once in approval again it cannot be resubmitted a second time.
    twice = resubmit(app, employer_headers, request_id, {"address": "新地址2号"})
    assert (twice.status_code, twice.get_json()["message"]) == (409, "该变更申请未被退回，不能重新提交，请刷新后查看")

    assert deliver(app, "business.approved", request_id, approver="中心审核员李明", opinion="同意") == "processed"
    history = app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json()
    assert [(h["label"], h["new_value"]) for h in history] == [("单位地址", "新地址1号"), ("邮政编码", "030009")]
    assert current(app, employer_headers) is None


def test_the_request_can_be_returned_again_after_a_resubmission(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = returned_request(app, employer_headers)
    assert resubmit(app, employer_headers, request_id, {"address": "新地址5号"}).status_code == 200
    deliver(app, "business.returned", request_id, approver="负责人赵强", opinion="地址需写全")
    pending = current(app, employer_headers)
    assert (pending["status"], pending["opinion"]) == ("returned", "地址需写全")
    assert [r["new"] for r in pending["changes"]] == ["新地址5号"]


def test_bad_rows_in_a_resubmission_are_named_and_change_nothing(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = returned_request(app, employer_headers)
    bad = resubmit(app, employer_headers, request_id, {"address": "新地址1号", "postcode": "0300"})
    assert bad.status_code == 422
    assert "第2行 邮政编码：邮政编码格式不正确，应为6位数字" in bad.get_json()["message"]
    empty = app.test_client().put(f"{BASE}/change-requests/{request_id}", json={"changes": []},
                                  headers=employer_headers)
    assert (empty.status_code, empty.get_json()["message"]) == (422, "待变更清册为空，请先修改需变更的项目")
    pending = current(app, employer_headers)
    assert (pending["status"], [r["new"] for r in pending["changes"]]) == ("returned", ["新地址1号", "030001"])
    assert [e["type"] for e in outbox_events(app)] == ["business.submitted"]


def test_only_the_employers_own_operators_with_the_permission_resubmit(
    app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str],
    center_headers: dict[str, str],
) -> None:
    request_id = returned_request(app, employer_headers)
    changes = {"address": "新地址7号"}
    assert resubmit(app, other_employer_headers, request_id, changes).status_code == 403
    assert resubmit(app, center_headers, request_id, changes).status_code == 403
    assert resubmit(app, auth(token_for(perms=("employer_query",))), request_id, changes).status_code == 403
    assert app.test_client().put(f"{BASE}/change-requests/{request_id}", json={"changes": []}).status_code == 401
    # Another employer's request id through its own path finds nothing (that employer has no profile
    # here, so it answers 单位不存在), and ids that cannot exist look missing.
    row = {"changes": [{"field": "address", "value": "新地址7号"}]}
    foreign = app.test_client().put(f"/employers/{OTHER_EMPLOYER_NO}/change-requests/{request_id}", json=row,
                                    headers=other_employer_headers)
    assert foreign.status_code == 404
    missing = app.test_client().put(f"{BASE}/change-requests/999", json=row, headers=employer_headers)
    assert (missing.status_code, missing.get_json()["message"]) == (404, "变更申请不存在")
    beyond = app.test_client().put(f"{BASE}/change-requests/99999999999999999999", json=row, headers=employer_headers)
    assert beyond.status_code == 404
    assert app.test_client().get(f"{BASE}/change-requests/current", headers=other_employer_headers).status_code == 403
    assert current(app, center_headers)["id"] == request_id  # the center may look, not act
    assert current(app, employer_headers)["status"] == "returned"


@pytest.fixture
def any_db_app(any_db: AnyDb) -> Flask:
    """The employer app on SQLite, then on a throwaway PostgreSQL database."""
    return any_db.app("employer")


def test_ten_simultaneous_resubmissions_go_on_once(any_db_app: Flask, employer_headers: dict[str, str]) -> None:
    app = any_db_app
    request_id = returned_request(app, employer_headers)
    answers = at_once([lambda n=n: answer(resubmit(app, employer_headers, request_id, {"address": f"并发路{n}号"}))
                       for n in range(10)], app)
    refused = (409, "该变更申请未被退回，不能重新提交，请刷新后查看")
    assert sorted(answers) == [(200, "已提交至中心审核")] + [refused] * 9
    assert [e["type"] for e in outbox_events(app)] == ["business.submitted", "business.resubmitted"]
    pending = current(app, employer_headers)
    assert pending["status"] == "in_approval" and len(pending["changes"]) == 1


def test_the_generic_resubmission_goes_on_once_and_only_for_the_employers_own_operator(
    any_db_app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str],
    center_headers: dict[str, str],
) -> None:
    """POST /businesses/<type>/<id>/resubmit (the gateway's generic page): as it stands, its rows kept."""
    app = any_db_app
    request_id = returned_request(app, employer_headers)
    url = f"/businesses/employer_change/{request_id}/resubmit"
    client = app.test_client()
    # Another employer's business looks missing: ids tell nothing about other employers.
    assert answer(client.post(url, headers=other_employer_headers)) == (404, "业务不存在")
    assert client.post(url, headers=center_headers).status_code == 403
    no_right = auth(token_for(perms=("employer_query",)))
    assert answer(client.post(url, headers=no_right)) == (403, "当前账号无权办理该业务")
    assert client.post(f"/businesses/employer_change/{request_id + 1}/resubmit", headers=employer_headers) \
        .status_code == 404
    answers = at_once([lambda: answer(app.test_client().post(url, headers=employer_headers))] * 10, app)
    refused = (409, "该业务未被退回，不能重新提交，请刷新后查看")
    assert sorted(answers) == [(200, "已重新提交至中心审核")] + [refused] * 9
    resubmitted = [e for e in outbox_events(app) if e["type"] == "business.resubmitted"]
    assert len(resubmitted) == 1 and resubmitted[0]["data"]["permission"] == "employer_change"
    pending = current(app, employer_headers)
    assert pending["status"] == "in_approval"
    assert [(c["field"], c["new"]) for c in pending["changes"]] == [("address", "新地址1号"), ("postcode", "030001")]


@pytest.mark.parametrize("returned_first", [True, False])
def test_an_ended_process_frees_the_slot_for_a_new_submission(
    app: Flask, employer_headers: dict[str, str], returned_first: bool
) -> None:
    request_id = returned_request(app, employer_headers) if returned_first else submit(
        app, employer_headers, {"address": "新地址8号"})
    assert deliver(app, "business.ended", request_id, by="employer", reason="不再办理") == "processed"
    assert current(app, employer_headers) is None
    [ended] = app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert (ended["status"], ended["status_name"], ended["ended_by"], ended["end_reason"]) == (
        "ended", "已结束", "employer", "不再办理")
    assert ended["decided_at"] is not None
    # Nothing applied, and no rejection message: ending is not a rejection.
    assert app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json() == []
    assert [e["type"] for e in outbox_events(app)] == ["business.submitted"]
    # An ended request cannot be resubmitted, and a late return or approval changes nothing.
    assert resubmit(app, employer_headers, request_id, {"address": "新地址9号"}).status_code == 409
    deliver(app, "business.returned", request_id, approver="复核员张敏", opinion="迟到的退回")
    deliver(app, "business.approved", request_id, approver="中心审核员李明", opinion="迟到的通过")
    assert app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()[0]["status"] == "ended"
    assert app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json() == []
    new_id = submit(app, employer_headers, {"phone": "0351-2222222"})
    assert current(app, employer_headers)["id"] == new_id != request_id


def test_a_center_termination_ends_the_request_with_its_reason(app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(app, employer_headers, {"address": "新地址10号"})
    deliver(app, "business.ended", request_id, by="center", reason="重复申请")
    [ended] = app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert (ended["status"], ended["ended_by"], ended["end_reason"]) == ("ended", "center", "重复申请")
