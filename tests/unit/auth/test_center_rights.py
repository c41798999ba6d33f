"""Center rights as data: permissions granted to an account or through a role reach its token, every
grant is audited with before and after and ends the affected sessions, and nobody can take the right
to manage rights from themselves."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from deploy import demo_data as demo
from hall_common.permissions import ALL_CENTER_PERMISSIONS

from ...threads import at_once
from ..conftest import auth, token_for
from .conftest import message

ADMIN, REVIEWER = demo.CENTER_LOGIN, demo.REVIEWER_LOGIN


def _login(client: FlaskClient, login_name: str) -> dict[str, Any]:
    response = client.post("/auth/center-login", json={"login_name": login_name, "password": demo.CENTER_PASSWORD})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _headers(session: dict[str, Any]) -> dict[str, str]:
    return auth(session["token"])


def _audit(client: FlaskClient, headers: dict[str, str], action: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/audit-records", query_string={"action": action},
                                             headers=headers).get_json()["items"]
    return items


def test_a_direct_grant_reaches_the_token_is_audited_and_ends_the_accounts_sessions(client: FlaskClient) -> None:
    admin = _headers(_login(client, ADMIN))
    reviewer = _login(client, REVIEWER)
    assert client.get("/auth/operators", headers=_headers(reviewer)).status_code == 403

    granted = client.put(f"/center-accounts/{REVIEWER}/permissions", json={"permissions": ["audit", "account_admin"]},
                         headers=admin)
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["permissions"] == ["account_admin", "audit"]  # the catalogue's order
    assert client.post("/auth/refresh", json={"refresh_token": reviewer["refresh_token"]}).status_code == 401
    again = _login(client, REVIEWER)
    assert again["principal"]["perms"] == ["account_admin", "audit"]
    assert client.get("/auth/operators", headers=_headers(again)).status_code == 200
    assert client.get("/groups/x1", headers=_headers(again)).status_code in (403, 404, 405)

    [record] = _audit(client, admin, "center_permissions")
    assert (record["actor"], record["target"]) == (ADMIN, REVIEWER)
    assert record["before"] == {"permissions": []}
    assert record["after"] == {"permissions": ["account_admin", "audit"]}


def test_a_role_grants_its_permissions_to_its_members_and_a_role_change_reaches_them(client: FlaskClient) -> None:
    admin = _headers(_login(client, ADMIN))
    created = client.post("/center-roles", json={"code": "process_admin", "name": "流程管理员",
                                                 "permissions": ["process_design", "process_monitor"]}, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert client.put("/center-roles/process_admin/members", json={"members": [REVIEWER]},
                      headers=admin).status_code == 200
    reviewer = _login(client, REVIEWER)
    assert reviewer["principal"]["perms"] == ["process_design", "process_monitor"]

    narrowed = client.put("/center-roles/process_admin", headers=admin,
                          json={"name": "流程管理员", "permissions": ["process_monitor"]})
    assert narrowed.status_code == 200
    assert client.post("/auth/refresh", json={"refresh_token": reviewer["refresh_token"]}).status_code == 401
    assert _login(client, REVIEWER)["principal"]["perms"] == ["process_monitor"]
    [update] = _audit(client, admin, "role_update")
    assert update["before"]["permissions"] == ["process_design", "process_monitor"]
    assert update["after"]["permissions"] == ["process_monitor"]

    refused = client.delete("/center-roles/process_admin", headers=admin)
    assert refused.status_code == 409 and "还有1名成员" in message(refused)
    assert client.put("/center-roles/process_admin/members", json={"members": []}, headers=admin).status_code == 200
    assert client.delete("/center-roles/process_admin", headers=admin).status_code == 200
    assert _login(client, REVIEWER)["principal"]["perms"] == []


def test_unknown_permissions_and_accounts_are_named_and_nothing_is_stored(client: FlaskClient) -> None:
    admin = _headers(_login(client, ADMIN))
    bad = client.put(f"/center-accounts/{REVIEWER}/permissions", json={"permissions": ["center_admin", "audit"]},
                     headers=admin)
    assert bad.status_code == 422 and message(bad) == "不存在的中心权限：center_admin"
    employer = client.put("/center-accounts/100100001/permissions", json={"permissions": ["audit"]}, headers=admin)
    assert employer.status_code == 422 and message(employer) == "只能为中心账号分配中心权限"
    stranger = client.put("/center-roles/admin/members", json={"members": [ADMIN, "nobody"]}, headers=admin)
    assert stranger.status_code == 422 and message(stranger) == "中心账号 nobody 不存在"
    assert _login(client, REVIEWER)["principal"]["perms"] == []
    assert _audit(client, admin, "center_permissions") == []


def test_nobody_takes_the_right_to_manage_rights_from_themselves(client: FlaskClient) -> None:
    admin = _headers(_login(client, ADMIN))
    everything_else = [p for p in ALL_CENTER_PERMISSIONS if p != "center_rights"]
    for refused in (
        client.put("/center-roles/admin", json={"name": "系统管理员", "permissions": everything_else}, headers=admin),
        client.put("/center-roles/admin/members", json={"members": [demo.ADMIN2_LOGIN]}, headers=admin),
    ):
        assert refused.status_code == 409 and message(refused) == "不能移除本人的中心权限管理权限"
    assert _login(client, ADMIN)["principal"]["perms"] == sorted(ALL_CENTER_PERMISSIONS)
    # Another administrator may do it: the hall still has someone who can grant it back.
    other = _headers(_login(client, demo.ADMIN2_LOGIN))
    assert client.put("/center-roles/admin/members", json={"members": [demo.ADMIN2_LOGIN]},
                      headers=other).status_code == 200
    assert _login(client, ADMIN)["principal"]["perms"] == []


def test_concurrent_creates_of_one_role_store_it_once(client: FlaskClient) -> None:
    headers = auth(token_for("center", None))
    body = {"code": "auditors", "name": "稽核员", "permissions": ["audit"]}
    answers = at_once([lambda: client.post("/center-roles", json=body, headers=headers)] * 10)
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    roles = client.get("/center-roles", headers=headers).get_json()["items"]
    assert [r["code"] for r in roles].count("auditors") == 1


def test_concurrent_member_changes_and_a_taken_name_answer_409_never_500(client: FlaskClient) -> None:
    headers = auth(token_for("center", None))
    for code, name in (("auditors", "稽核员"), ("monitors", "监控员")):
        assert client.post("/center-roles", json={"code": code, "name": name, "permissions": ["audit"]},
                           headers=headers).status_code == 201
    body = {"members": [REVIEWER]}
    answers = at_once([lambda: client.put("/center-roles/auditors/members", json=body, headers=headers)] * 10)
    assert {a.status_code for a in answers} <= {200, 409} and 200 in {a.status_code for a in answers}
    roles = {r["code"]: r for r in client.get("/center-roles", headers=headers).get_json()["items"]}
    assert roles["auditors"]["members"] == [REVIEWER]
    taken = client.put("/center-roles/monitors", json={"name": "稽核员", "permissions": ["audit"]}, headers=headers)
    assert taken.status_code == 409 and "名称已存在" in message(taken)
