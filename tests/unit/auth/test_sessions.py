"""Sessions: one-time passwords, renewal with the refresh token, idle and absolute limits, rights
changes that end sessions, default-deny authentication, and the gateway's renewal and idle clock."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from hall_common import db
from hall_common.security import KeyProvider, verify_token
from services.auth.keys import public_key_pem
from services.auth.models import HallSession, Operator

from ..conftest import outbox_events
from ..ukey_support import reset_password, signed_login
from .conftest import NEW_PASSWORD, A, B, full_login, message


def _refresh(client: FlaskClient, session: dict[str, Any]) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})


def test_a_one_time_password_serves_one_login_and_expires(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str]
) -> None:
    one_time = reset_password(client, center_headers, A)
    stage = signed_login(client, A, one_time, "UK-A").get_json()
    assert stage["stage"] == "change_password"
    spent = signed_login(client, A, one_time, "UK-A")
    assert spent.status_code == 401
    assert message(spent) == "一次性密码已使用或已过期，请联系中心重新重置密码"

    late = reset_password(client, center_headers, A)
    with app.app_context():
        until = db.session().scalar(select(Operator.one_time_password_until).where(Operator.login_name == A))
        assert until is not None and timedelta(hours=23) < until - db.utcnow() <= timedelta(hours=24)
        db.session().execute(update(Operator).where(Operator.login_name == A)
                             .values(one_time_password_until=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
    expired = signed_login(client, A, late, "UK-A")
    assert expired.status_code == 401
    assert message(expired) == "一次性密码已使用或已过期，请联系中心重新重置密码"


def test_a_refused_step_keeps_its_ticket_and_a_spent_one_is_refused(
    client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    stage = signed_login(client, A, "111111", "UK-A").get_json()
    weak = client.post("/auth/initial-password", json={"ticket": stage["ticket"], "new_password": "short1"})
    assert weak.status_code == 422
    selection = client.post("/auth/initial-password", json={"ticket": stage["ticket"], "new_password": NEW_PASSWORD})
    assert selection.status_code == 200
    ticket = selection.get_json()["ticket"]
    foreign = client.post("/auth/select", json={"ticket": ticket, "employer_no": "999999999"})
    assert foreign.status_code == 403
    assert client.post("/auth/select", json={"ticket": ticket, "employer_no": A}).status_code == 200
    replay = client.post("/auth/select", json={"ticket": ticket, "employer_no": A})
    assert replay.status_code == 401
    assert message(replay) == "该登录步骤已完成或已超时，请重新登录"


def test_the_refresh_token_renews_until_logout_idle_or_the_absolute_limit(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    keys = KeyProvider(public_key_pem())
    session = full_login(client, A, "UK-A")
    first = verify_token(session["token"], keys)
    assert first.session_id and first.expires_at - time.time() <= 300
    assert session["idle_seconds"] == 15 * 60
    renewed = _refresh(client, session)
    assert renewed.status_code == 200
    assert verify_token(renewed.get_json()["token"], keys).session_id == first.session_id

    with app.app_context():  # idle past the limit at the auth service too
        db.session().execute(update(HallSession).where(HallSession.id == first.session_id)
                             .values(last_activity_at=db.utcnow() - timedelta(minutes=21)))
        db.session().commit()
    idle = _refresh(client, session)
    assert (idle.status_code, message(idle)) == (401, "长时间未操作，已自动退出，请重新登录")
    assert _refresh(client, session).status_code == 401

    other = full_login(client, A, "UK-A")
    with app.app_context():
        sid = verify_token(other["token"], keys).session_id
        db.session().execute(update(HallSession).where(HallSession.id == sid)
                             .values(expires_at=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
    assert message(_refresh(client, other)) == "登录时间已达上限，请重新登录"

    third = full_login(client, A, "UK-A")
    headers = {"Authorization": f"Bearer {third['token']}"}
    assert client.post("/auth/logout", headers=headers).status_code == 200
    assert message(_refresh(client, third)) == "登录已失效，请重新登录"
    # The auth service refuses the logged-out token at once, without waiting for its own event.
    assert client.post("/auth/sound", json={"sound_enabled": True}, headers=headers).status_code == 401


def test_new_permissions_or_an_unbound_key_end_the_accounts_sessions(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str]
) -> None:
    keys = KeyProvider(public_key_pem())
    session = full_login(client, A, "UK-A")
    sid = verify_token(session["token"], keys).session_id
    changed = client.put(f"/auth/operators/{A}/permissions", json={"permissions": ["employer_query"]},
                         headers=center_headers)
    assert changed.status_code == 200
    assert _refresh(client, session).status_code == 401
    revoked = [e["data"]["token_id"] for e in outbox_events(app) if e["type"] == "auth.session_revoked"]
    assert revoked == [sid]

    again = full_login(client, A, "UK-A")
    assert verify_token(again["token"], keys).permissions == {"employer_query"}
    unbound = client.delete(f"/auth/ukeys/{key_ab['id']}/bindings/{A}", headers=center_headers)
    assert unbound.status_code == 200
    assert _refresh(client, again).status_code == 401


def test_a_revoked_ukey_ends_the_sessions_of_the_accounts_it_serves(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str]
) -> None:
    keys = KeyProvider(public_key_pem())
    first, second = full_login(client, A, "UK-A"), full_login(client, B, "UK-A")
    revoked = client.post(f"/auth/ukeys/{key_ab['id']}/revoke", headers=center_headers)
    assert revoked.status_code == 200
    assert _refresh(client, first).status_code == 401
    assert _refresh(client, second).status_code == 401
    ended = {e["data"]["token_id"] for e in outbox_events(app) if e["type"] == "auth.session_revoked"}
    assert ended == {verify_token(s["token"], keys).session_id for s in (first, second)}


def test_without_a_token_only_the_public_list_answers(client: FlaskClient) -> None:
    for path in ("/auth/operators", "/auth/ukeys/999/revoke", "/audit-records", "/groups", "/no-such-path"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert message(response) == "请先登录"
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/auth/public-key").status_code == 200
    assert client.post("/auth/refresh", json={"refresh_token": "unknown"}).status_code == 401


# -- the gateway -----------------------------------------------------------------------------------

class FakeAuth:
    """The auth service as the gateway sees it (the real one is exercised by the integration tests)."""

    calls: list[tuple[str, Any]] = []

    def __init__(self, service: str, token: str | None = None) -> None:
        self.token = token

    def post(self, path: str, json: Any = None) -> Any:
        FakeAuth.calls.append((path, self.token))
        if path == "/auth/refresh":
            return {"token": "renewed", "expires_at": time.time() + 300, "principal": {"sub": A, "perms": []}}
        return {"message": "已退出系统"}


def test_the_gateway_renews_an_expiring_token_and_ends_an_idle_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import create_app
    from gateway import session as sessions

    monkeypatch.setattr(sessions, "ServiceClient", FakeAuth)
    FakeAuth.calls = []
    app = create_app({"TESTING": True})
    with app.test_request_context("/"):
        sessions.start(sessions.EMPLOYER_KEY, {"token": "old", "refresh_token": "r", "expires_at": time.time() + 200,
                                               "principal": {"sub": A}})
        assert sessions.fresh_token(sessions.EMPLOYER_KEY) == "old"
        sessions.current(sessions.EMPLOYER_KEY)["expires_at"] = time.time() + 5  # type: ignore[index]
        assert sessions.fresh_token(sessions.EMPLOYER_KEY) == "renewed"
        assert FakeAuth.calls == [("/auth/refresh", None)]

        assert not sessions.end_if_idle(sessions.EMPLOYER_KEY)
        sessions.current(sessions.EMPLOYER_KEY)["last_active"] = time.time() - 15 * 60 - 1  # type: ignore[index]
        assert sessions.end_if_idle(sessions.EMPLOYER_KEY)
        assert FakeAuth.calls[-1] == ("/auth/logout", "renewed")  # revoked at the auth service, not only forgotten
        assert sessions.current(sessions.EMPLOYER_KEY) is None


def test_center_logout_revokes_the_center_session_as_employer_logout_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import create_app
    from gateway import session as sessions

    monkeypatch.setattr(sessions, "ServiceClient", FakeAuth)
    FakeAuth.calls = []
    client = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()
    for key, logout in ((sessions.CENTER_KEY, "/admin/logout"), (sessions.EMPLOYER_KEY, "/logout")):
        with client.session_transaction() as cookie:
            cookie[key] = {"token": f"{key}-token", "refresh_token": "r", "expires_at": time.time() + 300,
                           "principal": {"sub": "center01"}, "last_active": time.time()}
        assert client.post(logout).status_code == 302
        assert FakeAuth.calls[-1] == ("/auth/logout", f"{key}-token")
        with client.session_transaction() as cookie:
            assert key not in cookie


class RotatingAuth(FakeAuth):
    """An auth service that rotates the refresh token at every renewal, as the real one does."""

    presented: list[str] = []

    def post(self, path: str, json: Any = None) -> Any:
        if path != "/auth/refresh":
            return super().post(path, json)
        RotatingAuth.presented.append(json["refresh_token"])
        return {"token": f"t{len(RotatingAuth.presented)}", "expires_at": time.time() + 300,
                "principal": {"sub": A, "perms": []}, "refresh_token": f"r{len(RotatingAuth.presented) + 1}"}


def _set_cookies(app: Any, name: str) -> list[str]:
    response = app.process_response(app.response_class())
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def test_only_the_answer_that_renewed_sets_the_refresh_token_so_no_page_sets_an_older_one_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import create_app, refresh
    from gateway import session as sessions

    monkeypatch.setattr(sessions, "ServiceClient", RotatingAuth)
    RotatingAuth.presented = []
    app = create_app({"TESTING": True})
    key = sessions.EMPLOYER_KEY
    with app.test_request_context("/"):  # the login: the token goes to its own cookie, not the session's
        sessions.start(key, {"token": "t0", "refresh_token": "r1", "expires_at": time.time() + 5,
                             "principal": {"sub": A}})
        assert "refresh_token" not in sessions.current(key)  # type: ignore[operator]
        [login_cookie] = _set_cookies(app, refresh.COOKIE)
    cookie = login_cookie.split(";")[0]
    with app.test_request_context("/", headers={"Cookie": cookie}):  # a page that needs no renewal
        sessions.session[key] = {"token": "t0", "expires_at": time.time() + 200, "principal": {"sub": A}}
        assert sessions.fresh_token(key) == "t0"
        assert _set_cookies(app, refresh.COOKIE) == []  # it writes the session cookie, never this one
    with app.test_request_context("/", headers={"Cookie": cookie}):  # the page that renews
        sessions.session[key] = {"token": "t0", "expires_at": time.time() + 5, "principal": {"sub": A}}
        assert sessions.fresh_token(key) == "t1"
        assert RotatingAuth.presented == ["r1"]
        [renewed_cookie] = _set_cookies(app, refresh.COOKIE)
    with app.test_request_context("/", headers={"Cookie": renewed_cookie.split(";")[0]}):
        assert refresh.get(key) == "r2"
    with app.test_request_context("/", headers={"Cookie": cookie + "x"}):  # altered: not ours
        assert refresh.get(key) == ""


def test_a_session_cookie_from_before_the_refresh_cookie_moves_its_token_at_the_renewal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import create_app, refresh
    from gateway import session as sessions

    monkeypatch.setattr(sessions, "ServiceClient", RotatingAuth)
    RotatingAuth.presented = []
    app = create_app({"TESTING": True})
    key = sessions.EMPLOYER_KEY
    with app.test_request_context("/"):
        sessions.session[key] = {"token": "t0", "refresh_token": "legacy", "expires_at": time.time() + 5,
                                 "principal": {"sub": A}}
        assert sessions.fresh_token(key) == "t1"
        assert RotatingAuth.presented == ["legacy"]
        assert "refresh_token" not in sessions.current(key)  # type: ignore[operator]
        assert refresh.get(key) == "r2"
        [moved] = _set_cookies(app, refresh.COOKIE)
    with app.test_request_context("/", headers={"Cookie": moved.split(";")[0]}):
        sessions.end(key)  # the logout drops the refresh cookie too
        [dropped] = _set_cookies(app, refresh.COOKIE)
        assert "Expires=Thu, 01 Jan 1970" in dropped or "Max-Age=0" in dropped
