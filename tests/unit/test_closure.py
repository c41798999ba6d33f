"""零余额销户: the employer service's check reads the real payment, member and workflow apps (their routes
called in process with the employer service's own service token), names what blocks a closure,
submits once, and when the approved closure is applied checks again: money that arrived meanwhile
refuses it. Applied, auth lets the employer's accounts query only."""

from __future__ import annotations

import html
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway import create_app
from hall_common import db
from hall_common.consumer import consume
from hall_common.events import make_event
from services.employer.models import ClosureRequest, Employer

from ..threads import at_once
from .closure_support import CLEAN_NO, closure_apps
from .conftest import EMPLOYER_NO, auth, make_app, outbox_events, token_for

TYPE = "zero_balance_closure"


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> dict[str, Flask]:
    return closure_apps(monkeypatch)


def headers(employer_no: str = CLEAN_NO) -> dict[str, str]:
    return auth(token_for(employer_no=employer_no, perms=("closure", "employer_info")))


def outcome(business_id: int, kind: str = "business.approved") -> dict[str, Any]:
    return make_event("workflow", kind, {"business_type": TYPE, "business_id": str(business_id), "owner": "employer",
                                         "employer_no": CLEAN_NO, "approver": "中心审核员李明", "opinion": "同意",
                                         "instance_id": 7})


def submitted(app: Flask, employer_no: str = CLEAN_NO) -> list[ClosureRequest]:
    with app.app_context():
        return list(db.session().scalars(select(ClosureRequest).where(ClosureRequest.employer_no == employer_no)))


def test_an_employer_with_money_members_and_business_is_told_exactly_what_blocks_it(apps: dict[str, Flask]) -> None:
    client = apps["employer"].test_client()
    check = client.get(f"/employers/{EMPLOYER_NO}/closure", headers=headers(EMPLOYER_NO)).get_json()
    assert check["allowed"] is False and check["closed"] is False
    texts = {b["kind"]: b["text"] for b in check["blockers"]}
    with apps["payment"].app_context():
        from services.payment.models import EmployerAccount
        balance = db.session().get(EmployerAccount, EMPLOYER_NO).balance  # type: ignore[union-attr]
    assert texts["balance"] == f"单位账户余额为{balance:,.2f}元，不为零"
    members = [b["text"] for b in check["blockers"] if b["kind"] == "members"]
    # The demo employer: 270 normal, 6 sealed, 2 frozen (DOMAIN.md: each still holds money); 05 does not.
    assert [t.split("：")[0] for t in members] == ["正常状态的缴存人270人", "封存状态的缴存人6人",
                                                 "冻结状态的缴存人2人"]
    assert members[0].endswith("等") and members[0].count("（") == 10  # ten named, the rest counted
    assert "等" not in members[2] and members[2].count("（") == 2
    refused = client.post(f"/employers/{EMPLOYER_NO}/closure", headers=headers(EMPLOYER_NO))
    assert refused.status_code == 422
    assert refused.get_json()["message"].startswith("不满足零余额销户条件：单位账户余额为")
    assert submitted(apps["employer"], EMPLOYER_NO) == []
    assert not [e for e in outbox_events(apps["employer"]) if e["type"] == "business.submitted"]


def test_a_clean_employer_closes_once_and_its_accounts_then_query_only(apps: dict[str, Flask]) -> None:
    client = apps["employer"].test_client()
    check = client.get(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()
    assert (check["allowed"], check["blockers"], check["status"]) == (True, [], "01 正常")
    answers = at_once([lambda: client.post(f"/employers/{CLEAN_NO}/closure", headers=headers())
                       for _ in range(10)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 9
    assert {a.get_json()["message"] for a in answers if a.status_code == 409} == {"存在未审批完成的零余额销户业务"}
    [request] = submitted(apps["employer"])
    assert request.status == "in_approval"
    assert request.changes == [{"field": "status", "label": "单位账户状态", "old": "01 正常", "new": "04"}]
    [event] = [e for e in outbox_events(apps["employer"]) if e["type"] == "business.submitted"]
    assert (event["data"]["business_type"], event["data"]["business_id"]) == (TYPE, str(request.id))
    pending = client.get(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()
    assert pending["allowed"] is False and pending["request"]["status_name"] == "审批中"

    with apps["employer"].app_context():
        consume(outcome(request.id))
        consume(outcome(request.id))  # a redelivery closes nothing twice
        employer = db.session().get(Employer, CLEAN_NO)
        assert employer is not None and employer.status == "04"
    closed = [e for e in outbox_events(apps["employer"]) if e["type"] == "employer.closed"]
    assert len(closed) == 1 and closed[0]["data"]["employer_no"] == CLEAN_NO
    after = client.get(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()
    assert (after["closed"], after["allowed"], after["status"]) == (True, False, "04 销户")
    assert client.post(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()["message"] == "单位账户已销户"

    # Auth hears employer.closed: an account of the employer logs in with the query permissions only.
    auth_app = make_app("auth")
    with auth_app.app_context():
        from hall_common.permissions import ALL_PERMISSIONS
        from services.auth.models import EMPLOYER, Operator
        from services.auth.sessions import open_session

        operator = Operator(login_name=CLEAN_NO, role=EMPLOYER, display_name="赵敏", employer_no=CLEAN_NO,
                            employer_name="太原市示例餐饮有限公司", password_hash="x", must_change_password=False,
                            permissions=list(ALL_PERMISSIONS))
        db.session().add(operator)
        db.session().commit()
        before = open_session(operator, factor="ukey")
        assert before["closed"] is False and "closure" in before["principal"]["perms"]
        consume(closed[0])  # the auth runtime's handler, as its worker runs it
        consume(closed[0])  # redelivered: recorded once
        session = open_session(operator, factor="ukey")
        assert session["closed"] is True
        assert sorted(session["principal"]["perms"]) == ["employer_info", "employer_query", "member_query"]
        from services.auth.models import HallSession
        ended = db.session().scalar(select(HallSession).where(HallSession.revoked_reason == "employer_closed"))
        assert ended is not None  # the session opened before the closure was ended


def test_money_arriving_while_in_approval_refuses_the_approved_closure(apps: dict[str, Flask]) -> None:
    client = apps["employer"].test_client()
    assert client.post(f"/employers/{CLEAN_NO}/closure", headers=headers()).status_code == 201
    [request] = submitted(apps["employer"])
    with apps["payment"].app_context():
        from services.payment import ledger
        ledger.add_unallocated(db.session(), employer_no=CLEAN_NO, amount=Decimal("12.50"), on=date(2026, 12, 1),
                               summary="到账", source="receipt:test")
        db.session().commit()
    with apps["employer"].app_context():
        consume(outcome(request.id))
        employer = db.session().get(Employer, CLEAN_NO)
        assert employer is not None and employer.status == "01"  # nothing closed
        refused = db.session().get(ClosureRequest, request.id)
        assert refused is not None and refused.status == "rejected"
        assert refused.opinion == "销户条件已不满足：未分配金额为12.50元，不为零"
    events = [e for e in outbox_events(apps["employer"]) if e["type"].startswith("employer.clos")]
    assert [e["type"] for e in events] == ["employer.closure_rejected"]
    assert events[0]["data"]["opinion"] == refused.opinion
    # The refusal is the last request on the page, and the blockers are shown again.
    again = client.get(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()
    assert again["request"]["status"] == "rejected"
    assert [b["kind"] for b in again["blockers"]] == ["unallocated"]


def test_a_business_in_approval_blocks_the_closure_and_the_routes_check_the_caller(apps: dict[str, Flask]) -> None:
    client = apps["employer"].test_client()
    # An employer info change of the clean employer, started in the real workflow engine (its default
    # process waits for 经办审核): a business in approval.
    change = client.post(f"/employers/{CLEAN_NO}/change-requests", headers=auth(token_for(employer_no=CLEAN_NO)),
                         json={"changes": [{"field": "phone", "value": "0351-1234567"}]})
    assert change.status_code == 201, change.get_json()
    [submitted_event] = [e for e in outbox_events(apps["employer"]) if e["type"] == "business.submitted"]
    with apps["workflow"].app_context():
        consume(submitted_event)
    check = client.get(f"/employers/{CLEAN_NO}/closure", headers=headers()).get_json()
    request_id = change.get_json()["request"]["id"]
    assert check["blockers"] == [{"kind": "businesses",
                                  "text": f"审批中的业务1笔：单位信息变更（业务编号{request_id}）"}]
    assert client.post(f"/employers/{CLEAN_NO}/closure", headers=headers()).status_code == 422

    # Each route checks its caller.
    assert client.get(f"/employers/{CLEAN_NO}/closure", headers=headers(EMPLOYER_NO)).status_code == 403
    no_right = auth(token_for(employer_no=CLEAN_NO, perms=("employer_info",)))
    assert client.get(f"/employers/{CLEAN_NO}/closure", headers=no_right).status_code == 403
    assert client.post(f"/employers/{CLEAN_NO}/closure", headers=no_right).status_code == 403
    center = auth(token_for("center", None))
    assert client.get(f"/employers/{CLEAN_NO}/closure", headers=center).status_code == 200
    assert client.post(f"/employers/{CLEAN_NO}/closure", headers=center).status_code == 403
    # The service token reads the three figures, nothing else of an employer's.
    service = auth(token_for("service", None, perms=("closure_check",), login_name="employer"))
    assert apps["member"].test_client().get(f"/employers/{EMPLOYER_NO}/members/search?q=1",
                                            headers=service).status_code == 403
    assert client.get(f"/employers/{EMPLOYER_NO}", headers=service).status_code == 403
    other = apps["workflow"].test_client().get(f"/employers/{CLEAN_NO}/open-businesses",
                                               headers=auth(token_for(employer_no=EMPLOYER_NO)))
    assert other.status_code == 403


def page_of(employer_no: str) -> FlaskClient:
    """The gateway signed in for an operator of the employer, its calls reaching the real services."""
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(employer_no=employer_no), "expires_at": time.time() + 3600,
            "last_active": time.time(), "sound_enabled": False,
            "principal": {"name": "王晓燕", "sub": employer_no, "emp": employer_no, "emp_name": "示例单位",
                          "perms": ["closure", "employer_info"]}}
    return client


def test_the_page_names_the_blockers_or_offers_the_closure_and_then_shows_it_in_approval(
        apps: dict[str, Flask]) -> None:
    blocked = html.unescape(page_of(EMPLOYER_NO).get("/employer/closure").get_data(as_text=True))
    assert "当前不满足零余额销户条件：" in blocked and "正常状态的缴存人270人" in blocked
    assert 'id="closure-submit"' not in blocked
    gateway = page_of(CLEAN_NO)
    page = html.unescape(gateway.get("/employer/closure").get_data(as_text=True))
    assert "可以办理零余额销户" in page and 'id="closure-submit"' in page
    assert 'data-confirm="确定办理零余额销户吗？' in page  # 确定 / 取消 before it goes
    answer = gateway.post("/employer/closure", follow_redirects=True)
    after = html.unescape(answer.get_data(as_text=True))
    [request] = submitted(apps["employer"])
    assert f"已提交至中心审核（业务编号{request.id}）" in after
    assert f"零余额销户业务（业务编号{request.id}）审批中" in after and 'id="closure-submit"' not in after
    again = html.unescape(gateway.post("/employer/closure", follow_redirects=True).get_data(as_text=True))
    assert "存在未审批完成的零余额销户业务" in again
    assert len(submitted(apps["employer"])) == 1
    # Without the permission the tile's page is refused.
    with gateway.session_transaction() as session:
        signed_in = session["employer_session"]
        signed_in["principal"]["perms"] = ["employer_info"]
        session["employer_session"] = signed_in
    refused = gateway.get("/employer/closure", follow_redirects=True).get_data(as_text=True)
    assert "当前账号无权办理该业务" in refused
