"""Talking to the running services over HTTP, as the gateway and other programs do."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

import httpx
import sqlalchemy as sa
from stdnum.cn import ric

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack

T = TypeVar("T")
EMPLOYER = demo.EMPLOYER_NO
ROSTERS = f"/employers/{EMPLOYER}/rosters"


def wait_for(check: Callable[[], T | None], timeout: float = 30, what: str = "condition", every: float = 0.2) -> T:
    """Poll until check() returns something truthy; the events travel through Redis and the worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
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
            self.refresh_token = body.get("refresh_token") or self.refresh_token  # rotated at every renewal
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


def current_change(employer: Api) -> dict[str, Any] | None:
    """The employer's change request in approval or returned, or None."""
    request = employer.get("employer", f"/employers/{EMPLOYER}/change-requests/current")["request"]
    return dict(request) if request else None


def returned_change(employer: Api, center: Api, changes: dict[str, str], opinion: str) -> tuple[int, dict[str, Any]]:
    """An employer change submitted and returned by the center (退回): its request id and the task row."""
    submitted = submit_change(employer, changes)
    assert submitted.status_code == 201, submitted.text
    request_id = int(submitted.json()["request"]["id"])
    row = open_task_for(center, request_id)
    done = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                       json={"decision": "return", "opinion": opinion})
    assert done.status_code == 200, done.text
    assert done.json()["instance"]["status"] == "returned"
    current = wait_for(lambda: (c := current_change(employer)) and c["status"] == "returned" and c,
                       what="the return")
    assert current["id"] == request_id and current["opinion"] == opinion
    return request_id, row


def task_of(center: Api, business_type: str, business_id: str, name: str | None = None) -> dict[str, Any]:
    """The open center task of a business (of that name, when the process has several)."""
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open", business_type=business_type,
                              per_page=100)["items"]:
            instance = row["instance"]
            if instance["business_type"] == business_type and instance["business_id"] == business_id \
                    and name in (None, row["task"]["name"]):
                return dict(row)
        return None

    return wait_for(find, what=f"the center task {name or ''} of {business_type} {business_id}")


def decide(center: Api, task: dict[str, Any], decision: str, opinion: str) -> None:
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": decision, "opinion": opinion})
    assert done.status_code == 200, done.text


def person(index: int) -> str:
    """A valid ID number of its own for each index (born in 1982 and after)."""
    body = f"130102{date(1982, 3, 1) + timedelta(days=index):%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def register_members(employer: Api, names: list[str], base: str) -> dict[str, str]:
    """Open these members (the registration's default process has no user task): name -> member number."""
    ids = {}
    for index, name in enumerate(names):
        ids[name] = person(500 + index + sum(map(ord, name)) % 400)
        added = employer.call("POST", "member", f"{ROSTERS}/member_registration/rows", json={"values": {
            "name": name, "id_number": ids[name], "base": base, "first_month": date.today().strftime("%Y%m"),
            "ratio": "12"}})
        assert added.status_code == 201, added.text
    committed = employer.call("POST", "member", f"{ROSTERS}/member_registration/commit", json={"row_ids": []})
    assert committed.status_code == 201, committed.text

    def opened() -> dict[str, str] | None:
        found = {}
        for name, id_number in ids.items():
            hits = employer.get("member", f"/employers/{EMPLOYER}/members/search", q=id_number)
            if not hits:
                return None
            found[name] = hits[0]["member_no"]
        return found

    return wait_for(opened, timeout=60, what="the members opened")


def roster_business(employer: Api, service: str, type_: str, values: dict[str, str],
                    employer_no: str = EMPLOYER) -> str:
    """One row entered on the type's roster and committed as its own business; the business id."""
    rosters = f"/employers/{employer_no}/rosters"
    added = employer.call("POST", service, f"{rosters}/{type_}/rows", json={"values": values})
    assert added.status_code == 201, added.text
    committed = employer.call("POST", service, f"{rosters}/{type_}/commit",
                              json={"row_ids": [added.json()["row"]["id"]]})
    assert committed.status_code == 201, committed.text
    return str(committed.json()["business_id"])


def member_change(employer: Api, member_no: str, changes: dict[str, str], employer_no: str = EMPLOYER) -> str:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    answer = employer.call("POST", "member", f"/employers/{employer_no}/member-changes",
                           json={"member_no": member_no, "changes": rows})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["request"]["id"])


def adjust_bases(employer: Api, raises: dict[str, str]) -> str:
    """One roster of base raises (member number -> new base), 保存 as one business; its id."""
    month = date.today().strftime("%Y%m")
    ids = []
    for member_no, base in raises.items():
        added = employer.call("POST", "member", f"{ROSTERS}/base_adjustment/rows", json={"values": {
            "member_no": member_no, "category": "base", "base": base, "effective_month": month}})
        assert added.status_code == 201, added.text
        ids.append(added.json()["row"]["id"])
    committed = employer.call("POST", "member", f"{ROSTERS}/base_adjustment/commit", json={"row_ids": ids})
    assert committed.status_code == 201, committed.text
    return str(committed.json()["business_id"])


def bank_token(stack: Stack) -> str:
    """A bank's service token for POST /receipts."""
    return service_token(stack, "receipt_post", "icbc-taiyuan")


def service_token(stack: Stack, permission: str, name: str) -> str:
    """A service token of one permission for the named system, issued by the documented command."""
    issued = subprocess.run([sys.executable, "-m", "services.auth.service_tokens", "issue", name,
                             "--permission", permission, "--days", "1"], cwd=ROOT, env=stack.env(),
                            capture_output=True, text=True, check=True)
    return issued.stdout.strip()


def settled_run(center: Api, year: int) -> dict[str, Any]:
    """The interest year's run once the heavy worker has finished it."""
    def done() -> dict[str, Any] | None:
        run = center.get("payment", f"/interest/runs/{year}")
        return dict(run) if run["status"] == "done" else None

    return wait_for(done, timeout=60, what=f"the heavy worker's settlement of {year}")


def add_clean_employer(stack: Stack, employer_no: str, name: str, credit_code: str) -> None:
    """An employer with nothing (no money, no members) added to the stack's databases, its account's
    operator bound to the demo UKey; once."""
    from hall_common.permissions import ALL_PERMISSIONS
    from services.auth.accounts import hash_password
    from services.auth.models import EMPLOYER as EMPLOYER_ROLE
    from services.auth.models import Operator, UKey, UKeyBinding
    from services.employer.models import Employer

    employer = sa.create_engine(stack.database_url("employer"))
    with employer.begin() as connection:
        found = connection.execute(sa.select(Employer.employer_no).where(Employer.employer_no == employer_no)).first()
        if found is None:
            connection.execute(sa.insert(cast(sa.Table, Employer.__table__)).values(
                employer_no=employer_no, name=name, credit_code=credit_code, open_date=date(2021, 5, 6),
                status="01", employer_ratio=Decimal("0.12"), personal_ratio=Decimal("0.12")))
    employer.dispose()
    auth = sa.create_engine(stack.database_url("auth"))
    with auth.begin() as connection:
        if connection.execute(sa.select(Operator.id).where(Operator.login_name == employer_no)).first() is None:
            connection.execute(sa.insert(cast(sa.Table, Operator.__table__)).values(
                login_name=employer_no, role=EMPLOYER_ROLE, display_name="赵敏", employer_no=employer_no,
                employer_name=name, password_hash=hash_password(demo.INITIAL_PASSWORD), must_change_password=False,
                permissions=list(ALL_PERMISSIONS), failed_attempts=0, sound_enabled=True, large_text=False))
            for (ukey_id,) in connection.execute(sa.select(UKey.id)):  # whichever key the demo token holds now
                connection.execute(sa.insert(cast(sa.Table, UKeyBinding.__table__)).values(
                    ukey_id=ukey_id, login_name=employer_no))
    auth.dispose()
