"""Dual control of the two paths to an employer account: a password reset and a UKey issued for or bound
to it are requested by one center account and happen only when a second account with the same right
confirms; the requester cannot confirm its own request, a request expires, can be rejected or withdrawn,
and is confirmed once however many confirmations arrive at once."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from hall_common import db
from hall_common.settings import reset_settings
from services.auth import approvals
from services.auth.models import AuditRecord, PendingApproval, UKey

from ...threads import at_once
from ..conftest import AnyDb, auth, token_for
from ..ukey_support import PIN, issue, signed_login, token
from .conftest import NEW_PASSWORD, A, B, full_login, message

REQUESTED = "已提交，待另一名管理员复核"
OWN = "不能复核本人提交的申请，须由另一名管理员复核"


def admin(login_name: str, *perms: str) -> dict[str, str]:
    """A center account by name; every center permission unless some are named."""
    return auth(token_for("center", None, perms=perms, login_name=login_name))


def listed(client: FlaskClient, headers: dict[str, str], approval_id: int) -> dict[str, Any]:
    items = client.get("/auth/approvals", headers=headers).get_json()["items"]
    return dict(next(i for i in items if i["id"] == approval_id))


def audit(client: FlaskClient, action: str) -> list[dict[str, Any]]:
    items = client.get("/audit-records", query_string={"action": action}, headers=admin("center01")).get_json()
    return list(items["items"])


def request_reset(client: FlaskClient, headers: dict[str, str], login_name: str = A) -> dict[str, Any]:
    answer = client.post(f"/auth/operators/{login_name}/reset-password", headers=headers)
    assert answer.status_code == 202, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    assert body["message"] == REQUESTED
    return dict(body["approval"])


def test_a_reset_takes_effect_when_a_second_admin_confirms_and_only_the_confirmer_sees_the_password(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    full_login(client, A, "UK-A")  # A's password is now NEW_PASSWORD
    center01, center03 = admin("center01"), admin("center03")
    approval = request_reset(client, center01)
    assert "one_time_password" not in json.dumps(approval)
    # Nothing happened yet: the operator's password still works.
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").get_json()["stage"] == "select"
    mine = listed(client, center01, approval["id"])
    assert (mine["status"], mine["mine"], mine["can_confirm"], mine["requested_by"]) == (
        "requested", True, False, "center01")
    again = client.post(f"/auth/operators/{A}/reset-password", headers=center03)
    assert (again.status_code, message(again)) == (409, f"{A} 已有待复核的重置密码申请")

    own = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=center01)
    assert (own.status_code, message(own)) == (403, OWN)
    # A second account without 账号管理 (UKey管理 only, or an approver) may not confirm a reset.
    for lacking in (admin("center05", "ukey_admin"), admin("center02", "approve")):
        refused = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=lacking)
        assert (refused.status_code, message(refused)) == (403, "当前账号无权进行该操作")
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").get_json()["stage"] == "select"

    assert listed(client, center03, approval["id"])["can_confirm"] is True
    confirmed = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=center03)
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    one_time = body["one_time_password"]
    assert (body["message"], body["approval"]["status"], body["approval"]["decided_by"]) == (
        "已复核，密码已重置，请将一次性密码交给单位经办人", "confirmed", "center03")
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").status_code == 401
    assert signed_login(client, A, one_time, "UK-A").get_json()["stage"] == "change_password"

    twice = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=admin("center04"))
    assert (twice.status_code, message(twice)) == (409, "该申请已由 center03 复核，不能重复处理")
    # The requester learns that it was done, never the password; nothing stored holds it in clear.
    seen = listed(client, center01, approval["id"])
    assert (seen["status"], seen["decided_by"]) == ("confirmed", "center03")
    with app.app_context():
        row = db.session().get(PendingApproval, approval["id"])
        assert row is not None
        stored = json.dumps([row.payload, row.outcome], ensure_ascii=False)
    records = client.get("/audit-records", headers=center01).get_json()["items"]
    assert one_time not in stored + json.dumps(records, ensure_ascii=False)
    [requested] = audit(client, "request_reset_password")
    assert (requested["actor"], requested["target"]) == ("center01", A)
    [reset] = audit(client, "reset_password")
    assert (reset["actor"], reset["after"]["requested_by"], reset["after"]["confirmed_by"]) == (
        "center03", "center01", "center03")
    assert reset["detail"] == "中心重置密码，已发放一次性密码（center01 申请，center03 复核）"


def test_a_request_can_be_rejected_or_withdrawn_and_then_nothing_happens(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    full_login(client, A, "UK-A")
    center01, center03 = admin("center01"), admin("center03")
    first = request_reset(client, center01)
    rejected = client.post(f"/auth/approvals/{first['id']}/reject", headers=center03)
    assert (rejected.status_code, message(rejected)) == (200, "已驳回该申请")
    late = client.post(f"/auth/approvals/{first['id']}/confirm", headers=admin("center04"))
    assert (late.status_code, message(late)) == (409, "该申请已被 center03 驳回")

    second = request_reset(client, center01)
    withdrawn = client.post(f"/auth/approvals/{second['id']}/reject", headers=center01)
    assert (withdrawn.status_code, message(withdrawn)) == (200, "已撤销申请")
    late = client.post(f"/auth/approvals/{second['id']}/confirm", headers=center03)
    assert (late.status_code, message(late)) == (409, "该申请已由 center01 撤销")
    assert [listed(client, center01, a["id"])["status"] for a in (first, second)] == ["rejected", "cancelled"]
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").get_json()["stage"] == "select"
    [record] = audit(client, "reject_approval")
    assert (record["actor"], record["after"]) == ("center03", {
        "approval_id": first["id"], "status": "rejected", "requested_by": "center01", "decided_by": "center03"})
    assert client.post("/auth/approvals/999/confirm", headers=center03).status_code == 404


def test_a_request_expires_after_the_configured_hours(app: Flask, client: FlaskClient) -> None:
    approval = request_reset(client, admin("center01"))
    with app.app_context():
        row = db.session().get(PendingApproval, approval["id"])
        assert row is not None and row.expires_at - row.requested_at == timedelta(hours=24)
        db.session().execute(update(PendingApproval).where(PendingApproval.id == approval["id"])
                             .values(expires_at=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
    late = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=admin("center03"))
    assert (late.status_code, message(late)) == (409, "该申请已过期，请重新申请")
    assert listed(client, admin("center03"), approval["id"])["status"] == "expired"
    with app.app_context():
        approvals.expire_old()  # the hourly housekeeping writes it down
        db.session().commit()
        row = db.session().get(PendingApproval, approval["id"])
        assert row is not None and row.status == "expired"
    # An expired request no longer blocks a new one for the same account.
    assert request_reset(client, admin("center01"))["id"] != approval["id"]


def test_a_ukey_issue_is_certified_only_when_confirmed_and_its_certificate_reaches_the_requester(
    app: Flask, client: FlaskClient
) -> None:
    center01, center03 = admin("center01"), admin("center03")
    generated = token("UK-B").generate_key(PIN)  # on the token at the requester's PC
    requested = client.post("/auth/ukeys", json={**generated, "login_names": [B]}, headers=center01)
    assert (requested.status_code, message(requested)) == (202, REQUESTED)
    approval = requested.get_json()["approval"]
    assert (approval["kind"], approval["target"], approval["login_names"]) == (
        "issue_ukey", generated["token_serial"], [B])
    assert [k for k in client.get("/auth/ukeys", headers=center01).get_json()
            if k["token_serial"] == generated["token_serial"]] == []
    # 账号管理 alone is not enough to confirm a UKey, nor is the requester.
    for headers, status in ((admin("center05", "account_admin"), 403), (center01, 403)):
        assert client.post(f"/auth/approvals/{approval['id']}/confirm", headers=headers).status_code == status

    confirmed = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=center03)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert message(confirmed) == "已复核，UKey证书已签发，请在插有该UKey的电脑上写入UKey"
    # The requester's page finds the certificate and writes it to the token in front of it.
    seen = listed(client, center01, approval["id"])
    assert (seen["status"], seen["decided_by"]) == ("confirmed", "center03")
    token("UK-B").store_certificate(PIN, seen["certificate_pem"])
    assert full_login(client, B, "UK-B")["principal"]["emp"] == B
    [issued] = audit(client, "issue_ukey")
    assert (issued["actor"], issued["after"]["requested_by"], issued["after"]["confirmed_by"]) == (
        "center03", "center01", "center03")
    assert issued["after"]["login_names"] == [B]


def test_a_new_key_on_the_token_withdraws_its_earlier_open_request(client: FlaskClient) -> None:
    center01 = admin("center01")
    requests = []
    for _ in range(2):
        generated = token("UK-C").generate_key(PIN)
        answer = client.post("/auth/ukeys", json={**generated, "login_names": [A]}, headers=center01)
        requests.append(answer.get_json()["approval"]["id"])
    assert listed(client, center01, requests[0])["status"] == "cancelled"
    stale = client.post(f"/auth/approvals/{requests[0]}/confirm", headers=admin("center03"))
    assert (stale.status_code, message(stale)) == (409, "该申请已由 center01 撤销")
    assert client.post(f"/auth/approvals/{requests[1]}/confirm", headers=admin("center03")).status_code == 200


def test_binding_an_existing_ukey_to_another_account_needs_the_second_admin(
    client: FlaskClient, center_headers: dict[str, str]
) -> None:
    key = issue(client, center_headers, "UK-A", [A])
    center01 = admin("center01")
    requested = client.post(f"/auth/ukeys/{key['id']}/bindings", json={"login_name": B}, headers=center01)
    assert (requested.status_code, message(requested)) == (202, REQUESTED)
    twice = client.post(f"/auth/ukeys/{key['id']}/bindings", json={"login_name": B}, headers=admin("center03"))
    assert (twice.status_code, message(twice)) == (409, f"UKey {key['token_serial']} 绑定 {B} 已在待复核中")
    # Until confirmed, the key does not open B.
    assert signed_login(client, B, "111111", "UK-A").status_code == 401
    approval = requested.get_json()["approval"]
    confirmed = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=admin("center03"))
    assert (confirmed.status_code, message(confirmed)) == (200, "已复核，绑定成功")
    assert signed_login(client, B, "111111", "UK-A").get_json()["stage"] == "change_password"
    [bound] = audit(client, "bind_ukey")
    assert (bound["actor"], bound["before"], bound["after"]) == ("center03", {"login_names": [A]}, {
        "login_names": [A, B], "requested_by": "center01", "confirmed_by": "center03"})


def test_with_dual_control_off_one_account_acts_at_once(
    client: FlaskClient, key_ab: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_DUAL_CONTROL", "false")
    reset_settings()
    reset = client.post(f"/auth/operators/{A}/reset-password", headers=admin("center01"))
    assert reset.status_code == 200
    assert signed_login(client, A, reset.get_json()["one_time_password"], "UK-A").get_json()["stage"] == (
        "change_password")
    items = client.get("/auth/approvals", headers=admin("center01")).get_json()["items"]
    assert [i for i in items if i["kind"] == "reset_password"] == []


@pytest.fixture
def any_db_client(any_db: AnyDb) -> tuple[Flask, FlaskClient]:
    made = any_db.app("auth")
    return made, made.test_client()


def test_ten_confirmations_at_once_act_once(any_db_client: tuple[Flask, FlaskClient]) -> None:
    """Ten different administrators confirm the same reset, and the same UKey issue, at the same moment:
    one conditional update wins each time, the other nine are told who confirmed it."""
    app, client = any_db_client
    center01 = admin("center01")
    reset = request_reset(client, center01, B)
    generated = token("UK-C").generate_key(PIN)
    issue_request = client.post("/auth/ukeys", json={**generated, "login_names": [A]}, headers=center01)
    assert issue_request.status_code == 202, issue_request.get_json()
    confirmers = [admin(f"admin{i:02d}") for i in range(10)]
    for approval_id in (reset["id"], issue_request.get_json()["approval"]["id"]):
        path = f"/auth/approvals/{approval_id}/confirm"
        answers = at_once([partial(client.post, path, headers=h) for h in confirmers])
        statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
        assert statuses == [200] + [409] * 9, statuses
        winner = next(a for a in answers if a.status_code == 200).get_json()["approval"]["decided_by"]
        assert {message(a) for a in answers if a.status_code == 409} == {f"该申请已由 {winner} 复核，不能重复处理"}
    with app.app_context():
        session = db.session()
        count = session.scalar(select(func.count()).select_from(AuditRecord)
                               .where(AuditRecord.action.in_(["reset_password", "issue_ukey"])))
        assert count == 2
        assert session.scalar(select(func.count()).select_from(UKey)
                              .where(UKey.token_serial == generated["token_serial"])) == 1
