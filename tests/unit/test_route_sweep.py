"""The route sweep: every operation of every service's OpenAPI document, and every page of the admin
console, declares who may call it, and a center account lacking the permission it names is refused
with 403 before anything happens. New routes are walked without anyone adding them here."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask

from gateway import create_app as create_gateway
from gateway.console import OPEN, console_endpoints, declared
from hall_common.access import OPENAPI_KEY
from hall_common.client import ServiceClient
from hall_common.permissions import ALL_CENTER_PERMISSIONS, CENTER_PERMISSIONS

from .conftest import auth, make_app, token_for

SERVICES = ("auth", "employer", "member", "payment", "workflow", "notify")
WORDS = re.compile(r"^(public|signed_in|employer|center|center:[a-z_]+|service:[a-z_]+)$")
# A value for each kind of path parameter: the check comes before any lookup, so they need not exist.
SAMPLE = {"integer": "1", "string": "x1"}


def operations(app: Flask) -> list[tuple[str, str, list[str], str]]:
    """(method, concrete path, access words, template) of every operation in the service's document."""
    spec = app.test_client().get("/openapi.json").get_json()
    found = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = {p["name"]: SAMPLE[p["schema"].get("type", "string")]
                      for p in item.get("parameters", []) + operation.get("parameters", []) if p["in"] == "path"}
            path = re.sub(r"\{(\w+)\}", lambda m, known=params: known.get(m.group(1), "x1"), template)
            found.append((method.upper(), path, operation.get(OPENAPI_KEY), template))
    return found


def center_without(permission: str) -> dict[str, str]:
    """A center account holding every center permission but one, in every default group."""
    held = tuple(p for p in ALL_CENTER_PERMISSIONS if p != permission)
    return auth(token_for("center", None, perms=held, login_name=f"no_{permission}"))


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_who_may_call_it(service: str) -> None:
    ops = operations(make_app(service, seed=False))
    assert ops, service
    undeclared = [f"{m} {t}" for m, _, words, t in ops if not words or not all(WORDS.match(w) for w in words)]
    assert undeclared == []
    for _, _, words, template in ops:
        for word in words:
            role, _, permission = word.partition(":")
            if role == "center" and permission:
                assert permission in CENTER_PERMISSIONS, f"{template}: {word}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_center_account_lacking_the_permission_is_refused_on_every_operation(service: str) -> None:
    app = make_app(service, seed=False)
    client = app.test_client()
    checked = 0
    # Like center02: in an approval group, no center permission.
    approver = auth(token_for("center", None, perms=("approve",), login_name="approver"))
    for method, path, words, template in operations(app):
        needed = [w.partition(":")[2] for w in words if w.startswith("center:")]
        if not needed or "center" in words:
            continue
        # Lacking each of the permissions that would admit it (a route may accept any of several).
        held = tuple(p for p in ALL_CENTER_PERMISSIONS if p not in needed)
        lacking = auth(token_for("center", None, perms=held, login_name="lacking"))
        for headers in (lacking, approver):
            answer = client.open(path, method=method, json={"x": 1}, headers=headers)
            assert answer.status_code == 403, f"{method} {template}: {answer.status_code} {answer.get_json()}"
            assert answer.get_json()["message"] == "当前账号无权进行该操作"
        checked += 1
    if service in ("auth", "workflow", "notify"):
        assert checked >= 3, "the center's administrative routes must be swept"


def test_the_approvers_routes_need_no_permission_but_the_monitors_view_does() -> None:
    """Approving needs only the task's group: an account holding no center permission lists its tasks,
    and is refused every instance of the process monitor."""
    app = make_app("workflow")
    client = app.test_client()
    approver = auth(token_for("center", None, perms=("approve",), login_name="center02", groups=("reviewer",)))
    assert client.get("/tasks?scope=group", headers=approver).status_code == 200
    assert client.get("/tasks?scope=all", headers=approver).status_code == 403
    assert client.get("/instances", headers=approver).status_code == 403
    assert client.get("/instances", headers=center_without("process_design")).status_code == 200


def _console(perms: list[str]) -> Any:
    client = create_gateway({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "expires_at": time.time() + 3600, "last_active": time.time(),
                                     "principal": {"sub": "c1", "name": "中心人员", "perms": perms}}
    return client


def _console_pages(app: Flask) -> list[tuple[str, str, tuple[str, ...]]]:
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in console_endpoints(app):
            continue
        needed = declared(app, rule.endpoint)
        assert needed is not None, rule.endpoint
        if needed == OPEN:
            continue
        path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            pages.append((method, path, tuple(needed)))
    return pages


def test_every_console_page_refuses_an_account_lacking_its_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ServiceClient, "request", lambda self, method, path, **kw: asked.append(path))
    app = create_gateway()
    pages = _console_pages(app)
    assert len([p for p in pages if p[2]]) >= 20
    for method, path, needed in pages:
        if not needed:
            continue
        lacking = [p for p in ALL_CENTER_PERMISSIONS if p not in needed]
        for perms in (lacking, []):
            answer = _console(perms).open(path, method=method, data={"x": "1"})
            assert answer.status_code == 403, f"{method} {path}"
            assert "当前账号无权进行该操作" in answer.get_data(as_text=True)
    assert asked == []  # no service was asked on the account's behalf


def test_the_console_menu_shows_only_what_the_account_may_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ServiceClient, "get", lambda self, path, **params: {"items": [], "total": 0})
    menu = {"流程监控": "process_monitor", "流程设计": "process_design", "账号管理": "account_admin",
            "UKey管理": "ukey_admin", "消息推送": "push", "死信事件": "dead_letters", "用户组": "group_admin",
            "中心权限": "center_rights", "审计日志": "audit"}
    approver = _console([]).get("/admin/").get_data(as_text=True)
    assert "审批任务" in approver
    assert [name for name in menu if f">{name}</a>" in approver] == []
    admin = _console(list(ALL_CENTER_PERMISSIONS)).get("/admin/").get_data(as_text=True)
    assert [name for name in menu if f">{name}</a>" in admin] == list(menu)
    only_push = _console(["push"]).get("/admin/").get_data(as_text=True)
    assert [name for name in menu if f">{name}</a>" in only_push] == ["消息推送"]


def test_a_service_with_an_undeclared_route_does_not_start() -> None:
    from flask_smorest import Blueprint

    from hall_common.app import create_service_app
    from services.member import RUNTIME

    blp = Blueprint("forgotten", __name__)

    @blp.route("/forgotten")
    def forgotten() -> dict[str, str]:
        return {"status": "open to anyone"}

    with pytest.raises(RuntimeError, match="forgotten.forgotten"):
        create_service_app(RUNTIME, [blp])


# The gateway's pages anyone may open without a session: the login steps of both consoles, the UKey
# agent's download, static files, the public verification of a print (docs/prints.md), the probes, the
# API document for programs (gateway/apidocs.py says why it is public) and the metrics Prometheus scrapes
# (counts only; the proxy does not forward /metrics from outside: docs/observability.md).
GATEWAY_PUBLIC = {"static", "favicon", "hall.vendor", "login.login", "login.challenge", "login.agent_download",
                  "admin.login", "verify.verify_page", "health.live", "health.ready", "apidocs.openapi_json",
                  "apidocs.docs", "metrics",
                  # security keys: the login's options, and registration with a center enrolment code
                  # (password and code are its proof, checked by the auth service like a login's)
                  "keys.login_options", "keys.enrol_page", "keys.enrol_options", "keys.enrol"}


def test_every_gateway_page_but_the_public_ones_sends_a_visitor_without_a_session_to_log_in(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ServiceClient, "request", lambda self, method, path, **kw: asked.append(path))
    app = create_gateway({"WTF_CSRF_ENABLED": False})
    assert set(app.view_functions) >= GATEWAY_PUBLIC
    swept = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in GATEWAY_PUBLIC:
            continue
        path = re.sub(r"<(?:(\w+)(?:\(([^),]*)[^)]*\))?:)?(\w+)>",
                      lambda m: "1" if m.group(1) == "int" else (m.group(2) or "x1").strip(), rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = app.test_client().open(path, method=method, data={"x": "1"})
            login = "/admin/login" if path.startswith("/admin") else "/login"
            assert answer.status_code in (302, 401, 403), f"{method} {path}: {answer.status_code}"
            if answer.status_code == 302:
                assert answer.headers["Location"].startswith(login), f"{method} {path}"
            swept += 1
    assert swept >= 50
    assert asked == []
    assert app.test_client().get("/verify").status_code == 200  # public: no login asked
