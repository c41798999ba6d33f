"""Talking to the running services over HTTP, as the gateway and other programs do."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from deploy import demo_data as demo
from deploy.stack import Stack

T = TypeVar("T")
EMPLOYER = demo.EMPLOYER_NO


def wait_for(check: Callable[[], T | None], timeout: float = 30, what: str = "condition") -> T:
    """Poll until check() returns something truthy; the events travel through Redis and the worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Api:
    def __init__(self, stack: Stack, token: str) -> None:
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.stack.url(service) + path, headers=self.headers, timeout=10, **kwargs)

    def get(self, service: str, path: str, **params: Any) -> Any:
        response = self.call("GET", service, path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


# The integration tests' own password for the accounts they log in with (the first login changes 111111).
NEW_PASSWORD = "Hall2026it"
_passwords: dict[str, str] = {}


def ukey_login(stack: Stack, login: str, password: str) -> httpx.Response:
    """The login page's steps: a challenge from the hall, a signature from the running UKey agent."""
    auth = stack.url("auth")
    challenge = httpx.post(auth + "/auth/challenge", json={"employer_no": login, "login_name": login}).json()
    signed = httpx.post(stack.agent_url + "/sign", json={"nonce": challenge["nonce"], "pin": demo.UKEY_PIN},
                        headers={"Origin": stack.url("gateway")})
    assert signed.status_code == 200, signed.text
    return httpx.post(auth + "/auth/login", json={
        "employer_no": login, "login_name": login, "password": password,
        "challenge_id": challenge["challenge_id"], **signed.json(),
    })


def employer_api(stack: Stack, login: str = EMPLOYER, employer_no: str | None = None) -> Api:
    """Log in with password and the demo UKey, change the initial password once, choose the employer."""
    response = ukey_login(stack, login, _passwords.get(login, demo.INITIAL_PASSWORD))
    assert response.status_code == 200, response.text
    stage = response.json()
    if stage["stage"] == "change_password":
        stage = httpx.post(stack.url("auth") + "/auth/initial-password",
                           json={"ticket": stage["ticket"], "new_password": NEW_PASSWORD}).json()
        _passwords[login] = NEW_PASSWORD
    assert stage["stage"] == "select", stage
    selected = httpx.post(stack.url("auth") + "/auth/select",
                          json={"ticket": stage["ticket"], "employer_no": employer_no or login})
    assert selected.status_code == 200, selected.text
    return Api(stack, selected.json()["token"])


def center_api(stack: Stack) -> Api:
    response = httpx.post(stack.url("auth") + "/auth/center-login", json={
        "login_name": demo.CENTER_LOGIN, "password": demo.CENTER_PASSWORD,
    })
    assert response.status_code == 200, response.text
    return Api(stack, response.json()["token"])


def submit_change(api: Api, changes: dict[str, str], employer_no: str = EMPLOYER) -> httpx.Response:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    return api.call("POST", "employer", f"/employers/{employer_no}/change-requests", json={"changes": rows})


def open_task_for(center: Api, request_id: int) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open")["items"]:
            if row["instance"]["business_id"] == str(request_id):
                return dict(row)
        return None

    return wait_for(find, what=f"the center task of request {request_id}")


def profile_values(api: Api) -> dict[str, str]:
    return {f["name"]: f["value"] for f in api.get("employer", f"/employers/{EMPLOYER}")["fields"]}


def messages(api: Api, box: str = "message") -> list[dict[str, Any]]:
    return list(api.get("notify", f"/employers/{EMPLOYER}/inbox/{box}", per_page=200)["items"])


def request_status(api: Api, request_id: int) -> str:
    for row in api.get("employer", f"/employers/{EMPLOYER}/change-requests"):
        if row["id"] == request_id:
            return str(row["status"])
    raise AssertionError(f"request {request_id} not found")
