"""The auth service's tests: its app, a UKey managing both demo employers, and the login steps."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..conftest import make_app
from ..ukey_support import issue, signed_login

A, B = "100100001", "100100002"
NEW_PASSWORD = "Hall2026ok"


@pytest.fixture(autouse=True)
def processes_naming(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """What the workflow service answers about the processes naming a group: none unless a test says."""
    from services.auth import groups

    naming: dict[str, list[str]] = {}
    monkeypatch.setattr(groups, "processes_naming", lambda code: naming.get(code, []))
    return naming


@pytest.fixture
def app() -> Flask:
    return make_app("auth")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def key_ab(client: FlaskClient, center_headers: dict[str, str]) -> dict[str, Any]:
    """One UKey managing both demo employers."""
    return issue(client, center_headers, "UK-A", [A, B])


def message(response: Any) -> str:
    return str(response.get_json()["message"])


def bad_login(left: int) -> str:
    """The one answer to any wrong secret of an employer login: it does not say which one."""
    return f"登录失败：单位账号、登录名称、密码或UKey验证未通过，还可尝试{left}次"


def change_initial(client: FlaskClient, stage: dict[str, Any]) -> dict[str, Any]:
    assert stage["stage"] == "change_password"
    response = client.post("/auth/initial-password", json={"ticket": stage["ticket"], "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def full_login(client: FlaskClient, login: str, label: str, employer_no: str | None = None) -> dict[str, Any]:
    response = signed_login(client, login, "111111", label)
    stage = response.get_json()
    if stage.get("stage") == "change_password":
        stage = change_initial(client, stage)
    else:
        response = signed_login(client, login, NEW_PASSWORD, label)
        stage = response.get_json()
    assert stage["stage"] == "select", stage
    selected = client.post("/auth/select", json={"ticket": stage["ticket"], "employer_no": employer_no or login})
    assert selected.status_code == 200, selected.get_json()
    body: dict[str, Any] = selected.get_json()
    return body
