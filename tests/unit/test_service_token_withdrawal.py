"""Service tokens in the center's hands: issued (shown once), listed, and withdrawn one by one; a
withdrawn token is refused by every service once it hears of it (auth.session_revoked)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common.consumer import consume
from services.notify import push

from ..threads import at_once
from .conftest import auth, make_app, outbox_events, token_for
from .push_support import body, fake_directory

REFUSED = "服务令牌已撤销，请联系中心重新签发"


@pytest.fixture
def auth_app() -> Flask:
    return make_app("auth")


def admin() -> dict[str, str]:
    return auth(token_for("center", None, perms=("service_tokens",)))


def issued(app: Flask, name: str = "core-accounting", permissions: tuple[str, ...] = ("push",)) -> dict[str, Any]:
    answer = app.test_client().post("/service-tokens", json={"name": name, "permissions": list(permissions),
                                                             "days": 30}, headers=admin())
    assert answer.status_code == 201, answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def test_the_center_issues_lists_and_withdraws_a_token(auth_app: Flask) -> None:
    client = auth_app.test_client()
    result = issued(auth_app)
    assert result["message"] == "服务令牌已签发，请立即复制保存，关闭后无法再次查看"
    item = result["item"]
    assert (item["name"], item["permissions"], item["status"], item["issued_by"]) == (
        "core-accounting", ["push"], "active", "center01")
    listed = client.get("/service-tokens", headers=admin())
    assert listed.status_code == 200
    assert [i["id"] for i in listed.get_json()["items"]] == [item["id"]]
    assert result["token"] not in listed.get_data(as_text=True)  # shown once, kept nowhere

    withdrawn = client.post(f"/service-tokens/{item['id']}/withdraw", headers=admin())
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["message"] == "服务令牌已撤销：core-accounting"
    assert withdrawn.get_json()["item"]["status"] == "withdrawn"
    assert withdrawn.get_json()["item"]["withdrawn_by"] == "center01"
    again = client.post(f"/service-tokens/{item['id']}/withdraw", headers=admin())
    assert again.status_code == 409 and again.get_json()["message"] == "该服务令牌已撤销"
    missing = client.post("/service-tokens/no-such-token/withdraw", headers=admin())
    assert missing.status_code == 404 and missing.get_json()["message"] == "服务令牌不存在"
    actions = [r["action"] for r in client.get("/audit-records", headers=auth(token_for("center", None)))
               .get_json()["items"]]
    assert actions[:2] == ["service_token_withdraw", "service_token_issue"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "核心系统"}, "name", "应为1到50位字母、数字或._-，以字母或数字开头"),
    ({"permissions": []}, "permissions", "请至少选择一项权限"),
    ({"permissions": ["center_admin"]}, "permissions", "未知的服务权限"),
    ({"days": 5000}, "days", "有效期应为1到1095天"),
])
def test_a_bad_issue_names_the_field_and_records_nothing(
        auth_app: Flask, changes: dict[str, Any], field: str, message: str) -> None:
    client = auth_app.test_client()
    answer = client.post("/service-tokens", json={"name": "core", "permissions": ["push"], **changes},
                         headers=admin())
    assert answer.status_code == 422
    assert message in str(answer.get_json()["errors"]["json"][field])
    assert client.get("/service-tokens", headers=admin()).get_json()["items"] == []


def test_only_an_account_with_the_service_tokens_right_manages_them(auth_app: Flask) -> None:
    item = issued(auth_app)["item"]
    approver = auth(token_for("center", None, perms=("process_monitor",)))
    client = auth_app.test_client()
    for answer in (client.get("/service-tokens", headers=approver),
                   client.post("/service-tokens", json={"name": "x1", "permissions": ["push"]}, headers=approver),
                   client.post(f"/service-tokens/{item['id']}/withdraw", headers=approver)):
        assert answer.status_code == 403
    assert client.get("/service-tokens", headers=admin()).get_json()["items"][0]["status"] == "active"


def test_two_simultaneous_withdrawals_withdraw_once(auth_app: Flask) -> None:
    item = issued(auth_app)["item"]
    headers = admin()

    def withdraw() -> int:
        return int(auth_app.test_client().post(f"/service-tokens/{item['id']}/withdraw",
                                               headers=headers).status_code)

    assert sorted(at_once([withdraw] * 6)) == [200] + [409] * 5
    revoked = [e for e in outbox_events(auth_app) if e["type"] == "auth.session_revoked"]
    assert [e["data"]["token_id"] for e in revoked] == [item["id"]]


def test_a_withdrawn_token_is_refused_by_every_service_that_hears_of_it(
        auth_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push, "directory", fake_directory)
    result = issued(auth_app, permissions=("push", "employer_list"))
    headers = auth(result["token"])
    notify, employer = make_app("notify"), make_app("employer")
    other = auth(issued(auth_app, "hr-system", ("push",))["token"])
    assert notify.test_client().post("/pushes", json=body(), headers=headers).status_code == 202
    assert employer.test_client().get("/employers", headers=headers).status_code == 200

    assert auth_app.test_client().post(f"/service-tokens/{result['item']['id']}/withdraw",
                                       headers=admin()).status_code == 200
    [revoked] = [e for e in outbox_events(auth_app) if e["type"] == "auth.session_revoked"]
    assert revoked["data"]["token_id"] == result["item"]["id"]
    for service_app in (notify, employer):
        with service_app.app_context():
            assert consume(revoked) == "processed"
    for answer in (notify.test_client().post("/pushes", json=body(client_key="req-0002"), headers=headers),
                   notify.test_client().get("/pushes", headers=headers),
                   employer.test_client().get("/employers", headers=headers)):
        assert answer.status_code == 401 and answer.get_json()["message"] == REFUSED
    # Withdrawn one by one: another system's token goes on.
    assert notify.test_client().post("/pushes", json=body(client_key="req-0003"), headers=other).status_code == 202
