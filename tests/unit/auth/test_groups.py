"""Center groups: who may see and change them, what is refused, sessions ended by a membership change,
the audit trail with before and after, and the migration matching the models."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from deploy import demo_data as demo
from hall_common import db
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from hall_common.security import KeyProvider, verify_token
from services.auth.keys import public_key_pem
from services.auth.models import GroupMember

from ...threads import at_once
from ..conftest import auth, outbox_events, token_for
from .conftest import message

ADMIN, REVIEWER = demo.CENTER_LOGIN, demo.REVIEWER_LOGIN


def _reviewer_headers() -> dict[str, str]:
    """center02: a center user in 复核 without center_admin."""
    return auth(token_for("center", None, perms=("approve",), groups=("reviewer",), login_name=REVIEWER))


def _center_login(client: FlaskClient, login_name: str) -> dict[str, Any]:
    response = client.post("/auth/center-login", json={"login_name": login_name, "password": demo.CENTER_PASSWORD})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _refresh(client: FlaskClient, session: dict[str, Any]) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})


def _audit(client: FlaskClient, headers: dict[str, str], action: str) -> list[dict[str, Any]]:
    response = client.get("/audit-records", query_string={"action": action}, headers=headers)
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def test_center_users_see_the_default_groups_and_the_demo_admin_carries_them(
    client: FlaskClient, employer_headers: dict[str, str]
) -> None:
    listed = client.get("/groups", headers=_reviewer_headers())
    assert listed.status_code == 200
    groups = {g["code"]: g for g in listed.get_json()["items"]}
    assert {code: g["name"] for code, g in groups.items()} == {"handler": "经办", "reviewer": "复核", "chief": "负责人"}
    assert [m["login_name"] for m in groups["reviewer"]["members"]] == [ADMIN, REVIEWER]
    assert groups["chief"]["members"] == [{"login_name": ADMIN, "display_name": demo.CENTER_NAME}]
    assert client.get("/groups", headers=employer_headers).status_code == 403

    admin = _center_login(client, ADMIN)
    assert admin["principal"]["grp"] == ["chief", "handler", "reviewer"]
    assert admin["principal"]["perms"] == sorted(ALL_CENTER_PERMISSIONS)  # through the 系统管理员 role
    principal = verify_token(admin["token"], KeyProvider(public_key_pem()))
    assert principal.groups == {"chief", "handler", "reviewer"}
    reviewer = _center_login(client, REVIEWER)
    assert reviewer["principal"]["grp"] == ["reviewer"]
    assert reviewer["principal"]["perms"] == []  # approves only


def test_only_the_holders_of_the_rights_change_groups_or_read_accounts_and_audit(
    client: FlaskClient, center_headers: dict[str, str], employer_headers: dict[str, str]
) -> None:
    reviewer = _reviewer_headers()
    refused = [
        client.post("/groups", json={"code": "audit_team", "name": "稽核"}, headers=reviewer),
        client.put("/groups/handler", json={"name": "受理"}, headers=reviewer),
        client.put("/groups/handler/members", json={"members": [REVIEWER]}, headers=reviewer),
        client.delete("/groups/chief", headers=reviewer),
        client.get("/center-accounts", headers=reviewer),
        client.get("/audit-records", headers=reviewer),
        client.post("/groups", json={"code": "audit_team", "name": "稽核"}, headers=employer_headers),
    ]
    for response in refused:
        assert response.status_code == 403, response.request.path
    assert {message(r) for r in refused[:-1]} == {"当前账号无权进行该操作"}
    assert [g["name"] for g in client.get("/groups", headers=center_headers).get_json()["items"]] == [
        "经办", "复核", "负责人"]  # nothing changed

    accounts = client.get("/center-accounts", headers=center_headers).get_json()
    everything = list(ALL_CENTER_PERMISSIONS)
    assert accounts == [
        {"login_name": ADMIN, "display_name": demo.CENTER_NAME, "groups": ["chief", "handler", "reviewer"],
         "roles": ["admin"], "permissions": [], "effective": everything},
        {"login_name": REVIEWER, "display_name": demo.REVIEWER_NAME, "groups": ["reviewer"], "roles": [],
         "permissions": [], "effective": []},
        {"login_name": demo.ADMIN2_LOGIN, "display_name": demo.ADMIN2_NAME, "groups": [], "roles": ["admin"],
         "permissions": [], "effective": everything},
    ]


def test_bad_group_input_is_refused_naming_the_field_and_nothing_is_stored(
    app: Flask, client: FlaskClient, center_headers: dict[str, str]
) -> None:
    cases = [
        ({"code": "Audit", "name": "稽核"}, 422, "用户组编码应为2至30位小写字母、数字或下划线，以字母开头", "code"),
        ({"code": "a", "name": "稽核"}, 422, "用户组编码应为2至30位小写字母、数字或下划线，以字母开头", "code"),
        ({"code": "audit_team", "name": "   "}, 422, "用户组名称不能为空", "name"),
        ({"code": "audit_team", "name": "稽\x07核"}, 422, "name：不能包含控制字符", "name"),
        ({"code": "audit_team", "name": "稽" * 21}, 422, "用户组名称不能为空且不超过20个字符", "name"),
        ({"code": "audit_team"}, 422, "请填写用户组名称", "name"),
        ({"name": "稽核"}, 422, "请填写用户组编码", "code"),
    ]
    for body, status, text, field in cases:
        response = client.post("/groups", json=body, headers=center_headers)
        assert response.status_code == status, body
        assert message(response) == text, body
        assert field in response.get_json()["errors"]["json"], body
    duplicate_code = client.post("/groups", json={"code": "handler", "name": "稽核"}, headers=center_headers)
    assert (duplicate_code.status_code, message(duplicate_code)) == (409, "用户组编码 handler 已存在")
    duplicate_name = client.post("/groups", json={"code": "audit_team", "name": "复核"}, headers=center_headers)
    assert (duplicate_name.status_code, message(duplicate_name)) == (409, "用户组名称「复核」已存在")
    renamed_onto = client.put("/groups/handler", json={"name": "负责人"}, headers=center_headers)
    assert (renamed_onto.status_code, message(renamed_onto)) == (409, "用户组名称「负责人」已存在")
    missing = client.put("/groups/nobody_here/members", json={"members": []}, headers=center_headers)
    assert (missing.status_code, message(missing)) == (404, "用户组 nobody_here 不存在")

    members = client.put("/groups/handler/members", json={"members": [ADMIN, "ghost01", "100100001"]},
                         headers=center_headers)
    assert members.status_code == 422
    assert message(members) == "中心账号 ghost01、100100001 不存在"
    assert members.get_json()["errors"]["json"]["members"] == {"1": ["中心账号 ghost01 不存在"],
                                                              "2": ["中心账号 100100001 不存在"]}
    groups = client.get("/groups", headers=center_headers).get_json()["items"]
    assert [g["code"] for g in groups] == ["handler", "reviewer", "chief"]
    assert [m["login_name"] for m in groups[0]["members"]] == [ADMIN]
    assert _audit(client, center_headers, "group_create") == []
    assert _audit(client, center_headers, "group_members") == []


def test_a_membership_change_ends_the_sessions_of_the_accounts_it_adds_or_removes(
    app: Flask, client: FlaskClient, center_headers: dict[str, str]
) -> None:
    admin, reviewer = _center_login(client, ADMIN), _center_login(client, REVIEWER)
    created = client.post("/groups", json={"code": "audit_team", "name": "稽核"}, headers=center_headers)
    assert created.status_code == 201
    assert created.get_json() == {"code": "audit_team", "name": "稽核", "members": []}
    assert _refresh(client, reviewer).status_code == 200  # creating a group changes nobody's groups

    added = client.put("/groups/audit_team/members", json={"members": [REVIEWER, REVIEWER]}, headers=center_headers)
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["members"] == [{"login_name": REVIEWER, "display_name": demo.REVIEWER_NAME}]
    ended = _refresh(client, reviewer)
    assert ended.status_code == 401
    assert _refresh(client, admin).status_code == 200  # not a member before or after: untouched
    revoked = [e["data"] for e in outbox_events(app) if e["type"] == "auth.session_revoked"]
    assert [e["login_name"] for e in revoked] == [REVIEWER]

    again = _center_login(client, REVIEWER)
    assert again["principal"]["grp"] == ["audit_team", "reviewer"]
    # The same members again: no change, no record, no session ended.
    assert client.put("/groups/audit_team/members", json={"members": [REVIEWER]},
                      headers=center_headers).status_code == 200
    assert _refresh(client, again).status_code == 200
    assert len(_audit(client, center_headers, "group_members")) == 1

    removed = client.put("/groups/reviewer/members", json={"members": [ADMIN]}, headers=center_headers)
    assert removed.status_code == 200
    assert _refresh(client, again).status_code == 401
    assert _refresh(client, admin).status_code == 200  # stayed a member
    assert _center_login(client, REVIEWER)["principal"]["grp"] == ["audit_team"]


def test_a_group_a_deployed_process_names_cannot_be_deleted(client: FlaskClient, center_headers: dict[str, str],
                                                           processes_naming: dict[str, list[str]]) -> None:
    created = client.post("/groups", json={"code": "audit_team", "name": "稽核"}, headers=center_headers)
    assert created.status_code == 201
    processes_naming["audit_team"] = ["单位信息变更（第3版）", "缴存人封存（第1版）"]
    refused = client.delete("/groups/audit_team", headers=center_headers)
    assert (refused.status_code, message(refused)) == (
        409, "用户组「稽核」是以下流程的候选组，请先在流程设计中修改：单位信息变更（第3版）、缴存人封存（第1版）")
    assert "audit_team" in [g["code"] for g in client.get("/groups", headers=center_headers).get_json()["items"]]
    processes_naming["audit_team"] = []
    assert client.delete("/groups/audit_team", headers=center_headers).status_code == 200


def test_every_group_change_records_before_and_after(client: FlaskClient, center_headers: dict[str, str]) -> None:
    created = client.post("/groups", json={"code": "audit_team", "name": "稽核"}, headers=center_headers)
    assert created.status_code == 201
    renamed = client.put("/groups/audit_team", json={"name": " 稽核组 "}, headers=center_headers)
    assert renamed.get_json()["name"] == "稽核组"
    assert client.put("/groups/audit_team/members", json={"members": [REVIEWER]},
                      headers=center_headers).status_code == 200
    refused = client.delete("/groups/audit_team", headers=center_headers)
    assert (refused.status_code, message(refused)) == (409, "用户组「稽核组」还有1名成员，请先移除成员再删除")
    assert client.put("/groups/audit_team/members", json={"members": []}, headers=center_headers).status_code == 200
    deleted = client.delete("/groups/audit_team", headers=center_headers)
    assert (deleted.status_code, message(deleted)) == (200, "用户组已删除")
    assert client.delete("/groups/audit_team", headers=center_headers).status_code == 404

    records = client.get("/audit-records", headers=center_headers).get_json()["items"]
    trail = [(r["actor"], r["action"], r["target"], r["before"], r["after"]) for r in reversed(records)]
    assert trail == [
        (ADMIN, "group_create", "audit_team", None, {"code": "audit_team", "name": "稽核", "members": []}),
        (ADMIN, "group_rename", "audit_team", {"code": "audit_team", "name": "稽核"},
         {"code": "audit_team", "name": "稽核组"}),
        (ADMIN, "group_members", "audit_team", {"code": "audit_team", "members": []},
         {"code": "audit_team", "members": [REVIEWER]}),
        (ADMIN, "group_members", "audit_team", {"code": "audit_team", "members": [REVIEWER]},
         {"code": "audit_team", "members": []}),
        (ADMIN, "group_delete", "audit_team", {"code": "audit_team", "name": "稽核组", "members": []}, None),
    ]
    assert [g["code"] for g in client.get("/groups", headers=center_headers).get_json()["items"]] == [
        "handler", "reviewer", "chief"]


def test_admin_actions_on_employer_accounts_record_before_and_after(
    client: FlaskClient, center_headers: dict[str, str]
) -> None:
    changed = client.put("/auth/operators/100100002/permissions", json={"permissions": ["member_query"]},
                         headers=center_headers)
    assert changed.status_code == 200
    record = _audit(client, center_headers, "set_permissions")[0]
    assert record["before"] == {"permissions": demo.PERMISSIONS["100100002"]}
    assert record["after"] == {"permissions": ["member_query"]}


def test_concurrent_creates_of_one_group_store_it_once(app: Flask, center_headers: dict[str, str]) -> None:
    def create() -> int:
        return app.test_client().post("/groups", json={"code": "audit_team", "name": "稽核"},
                                      headers=center_headers).status_code

    results = at_once([create] * 4)
    assert sorted(results) == [201, 409, 409, 409]
    client = app.test_client()
    assert len(_audit(client, center_headers, "group_create")) == 1


def test_the_demo_admin_belongs_to_the_default_processes_groups(app: Flask) -> None:
    # (The migrated schema against the models: tests/unit/test_migrations.py, for every service.)
    with app.app_context():
        members = db.session().scalars(select(GroupMember.group_code).where(GroupMember.login_name == ADMIN))
        assert sorted(members) == ["chief", "handler", "reviewer"]


def test_ukey_actions_record_before_and_after(
    client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str]
) -> None:
    serial = key_ab["certificate_serial"]
    assert client.delete(f"/auth/ukeys/{key_ab['id']}/bindings/100100002", headers=center_headers).status_code == 200
    assert client.post(f"/auth/ukeys/{key_ab['id']}/revoke", headers=center_headers).status_code == 200
    issued = _audit(client, center_headers, "issue_ukey")[0]
    # Issued under dual control: requested by the test's admin, confirmed by the second (ukey_support.issue).
    assert (issued["actor"], issued["before"], issued["after"]) == ("center03", None, {
        "certificate_serial": serial, "status": "active", "login_names": ["100100001", "100100002"],
        "requested_by": "center01", "confirmed_by": "center03"})
    unbound = _audit(client, center_headers, "unbind_ukey")[0]
    assert (unbound["before"], unbound["after"]) == ({"login_names": ["100100001", "100100002"]},
                                                     {"login_names": ["100100001"]})
    revoked = _audit(client, center_headers, "revoke_ukey")[0]
    assert (revoked["before"]["status"], revoked["after"]["status"]) == ("active", "revoked")
