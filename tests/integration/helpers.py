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
    """A signed-in caller. Access tokens live minutes: like the gateway, it renews its token with the
    session's refresh token shortly before expiry (and once more if a service says 401)."""

    def __init__(self, stack: Stack, token: str, refresh_token: str = "", expires_at: float = 0,
                 auth_url: str | None = None) -> None:
        self.stack = stack
        self.token = token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.auth_url = auth_url or stack.url("auth")

    @classmethod
    def of_session(cls, stack: Stack, body: dict[str, Any], auth_url: str | None = None) -> Api:
        return cls(stack, body["token"], body.get("refresh_token", ""), body.get("expires_at", 0), auth_url)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> httpx.Response:
        response = httpx.post(self.auth_url + "/auth/refresh", json={"refresh_token": self.refresh_token}, timeout=10)
        if response.status_code == 200:
            body = response.json()
            self.token, self.expires_at = body["token"], body["expires_at"]
        return response

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        renewable = bool(self.refresh_token)
        if renewable and self.expires_at - time.time() < 5:
            self.refresh()
        extra = kwargs.pop("headers", {})
        response = httpx.request(method, self.stack.url(service) + path, headers={**extra, **self.headers},
                                 timeout=10, **kwargs)
        if response.status_code == 401 and renewable and self.refresh().status_code == 200:
            response = httpx.request(method, self.stack.url(service) + path, headers={**extra, **self.headers},
                                     timeout=10, **kwargs)
        return response

    def get(self, service: str, path: str, **params: Any) -> Any:
        response = self.call("GET", service, path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


# The integration tests' own password for the accounts they log in with (the first login changes 111111).
NEW_PASSWORD = "Hall2026it"
_passwords: dict[str, str] = {}


def ukey_login(stack: Stack, login: str, password: str, auth_url: str | None = None) -> httpx.Response:
    """The login page's steps: a challenge from the hall, a signature from the running UKey agent."""
    auth = auth_url or stack.url("auth")
    challenge = httpx.post(auth + "/auth/challenge", json={"employer_no": login, "login_name": login}).json()
    signed = httpx.post(stack.agent_url + "/sign", json={"nonce": challenge["nonce"], "pin": demo.UKEY_PIN},
                        headers={"Origin": stack.url("gateway")})
    assert signed.status_code == 200, signed.text
    return httpx.post(auth + "/auth/login", json={
        "employer_no": login, "login_name": login, "password": password,
        "challenge_id": challenge["challenge_id"], **signed.json(),
    })


def password_of(login: str) -> str:
    """The account's current password as these tests left it."""
    return _passwords.get(login, demo.INITIAL_PASSWORD)


def remember_password(login: str, password: str) -> None:
    _passwords[login] = password


def employer_api(stack: Stack, login: str = EMPLOYER, employer_no: str | None = None,
                 auth_url: str | None = None) -> Api:
    """Log in with password and the demo UKey, change the initial password once, choose the employer."""
    auth = auth_url or stack.url("auth")
    response = ukey_login(stack, login, password_of(login), auth)
    assert response.status_code == 200, response.text
    stage = response.json()
    if stage["stage"] == "change_password":
        stage = httpx.post(auth + "/auth/initial-password",
                           json={"ticket": stage["ticket"], "new_password": NEW_PASSWORD}).json()
        _passwords[login] = NEW_PASSWORD
    assert stage["stage"] == "select", stage
    selected = httpx.post(auth + "/auth/select", json={"ticket": stage["ticket"], "employer_no": employer_no or login})
    assert selected.status_code == 200, selected.text
    return Api.of_session(stack, selected.json(), auth)


def center_api(stack: Stack, auth_url: str | None = None, login: str = demo.CENTER_LOGIN,
               password: str = demo.CENTER_PASSWORD) -> Api:
    """A center account's session (center01; center03, the second administrator, confirms what it asks)."""
    auth = auth_url or stack.url("auth")
    response = httpx.post(auth + "/auth/center-login", json={
        "login_name": login, "password": password,
    })
    assert response.status_code == 200, response.text
    return Api.of_session(stack, response.json(), auth)


def submit_change(api: Api, changes: dict[str, str], employer_no: str = EMPLOYER) -> httpx.Response:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    return api.call("POST", "employer", f"/employers/{employer_no}/change-requests", json={"changes": rows})


def open_task_for(center: Api, request_id: int) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        # Other businesses (a member roster, a base adjustment) number their own: the type tells them apart.
        for row in center.get("workflow", "/tasks", status="open", business_type="employer_change",
                              per_page=100)["items"]:
            instance = row["instance"]
            if instance["business_type"] == "employer_change" and instance["business_id"] == str(request_id):
                return dict(row)
        return None

    return wait_for(find, what=f"the center task of request {request_id}")


def approve_change(stack: Stack, api: Api, changes: dict[str, str]) -> None:
    """The employer submits a change and the center approves it: a message follows through the spine."""
    submitted = submit_change(api, changes)
    assert submitted.status_code == 201, submitted.text
    center = center_api(stack)
    task = open_task_for(center, submitted.json()["request"]["id"])
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意"})
    assert done.status_code == 200, done.text


def profile_values(api: Api) -> dict[str, str]:
    return {f["name"]: f["value"] for f in api.get("employer", f"/employers/{EMPLOYER}")["fields"]}


def messages(api: Api, box: str = "message") -> list[dict[str, Any]]:
    return list(api.get("notify", f"/employers/{EMPLOYER}/inbox/{box}", per_page=200)["items"])


def request_status(api: Api, request_id: int) -> str:
    for row in api.get("employer", f"/employers/{EMPLOYER}/change-requests"):
        if row["id"] == request_id:
            return str(row["status"])
    raise AssertionError(f"request {request_id} not found")
