"""Sessions that end when they should, on the running stack: single-use login steps, logout while
Redis is down, rights changes that end sessions, and authentication before existence on every route."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import httpx
import jwt
import sqlalchemy as sa

from deploy import demo_data as demo
from deploy.stack import BIN, Stack, free_port
from hall_common.settings import SERVICES

from ..reliability import Recorder
from ..threads import at_once
from .helpers import (
    Api,
    center_api,
    employer_api,
    open_task_for,
    password_of,
    remember_password,
    submit_change,
    ukey_login,
    wait_for,
)

A, B = demo.EMPLOYER_NO, demo.SECOND_EMPLOYER_NO
STEP_GONE = "该登录步骤已完成或已超时，请重新登录"
# The login steps and what a caller needs before it has a token.
PUBLIC = {
    ("GET", "/health"), ("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics"),
    ("GET", "/auth/public-key"), ("POST", "/auth/challenge"), ("POST", "/auth/login"),
    ("POST", "/auth/initial-password"), ("POST", "/auth/select"), ("POST", "/auth/center-login"),
    ("POST", "/auth/center-totp"), ("POST", "/auth/center-totp/enrolment"),  # the console's second step (a ticket)
    # A security key's login and its enrolment with a center code: the key's assertion (or the code and the
    # password) is the credential, checked with the lockout as the UKey's signature is.
    ("POST", "/auth/webauthn/login-options"), ("POST", "/auth/webauthn/login"),
    ("POST", "/auth/webauthn/enrolment-options"), ("POST", "/auth/webauthn/enrolment"),
    ("POST", "/auth/refresh"),
    ("GET", "/verifications/{code}"),  # a print's verification code: anyone holding a print may check it
}


@contextmanager
def extra_auth(stack: Stack, env: dict[str, str]) -> Iterator[str]:
    """A second auth service process on the same database and key, with its own settings."""
    name, port = "auth-extra", free_port()
    saved = dict(stack.extra_env)
    stack.extra_env.update(env)
    try:
        stack.spawn(name, [str(BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", "4",
                           "--no-control-socket", "-b", f"127.0.0.1:{port}", "services.auth:create_app()"])
    finally:
        stack.extra_env = saved
    url = f"http://127.0.0.1:{port}"
    try:
        stack._wait_http(url + "/health", name)
        yield url
    finally:
        stack.stop_process(name)


def test_login_steps_and_the_one_time_password_serve_once(stack: Stack) -> None:
    auth = stack.url("auth")
    center = center_api(stack)
    requested = center.call("POST", "auth", f"/auth/operators/{A}/reset-password")
    assert requested.status_code == 202, requested.text  # dual control: center03 confirms
    approval = requested.json()["approval"]["id"]
    second = center_api(stack, login=demo.ADMIN2_LOGIN, password=demo.ADMIN2_PASSWORD)
    reset = second.call("POST", "auth", f"/auth/approvals/{approval}/confirm")
    assert reset.status_code == 200, reset.text
    one_time = reset.json()["one_time_password"]
    stage = ukey_login(stack, A, one_time)
    assert stage.status_code == 200, stage.text
    assert stage.json()["stage"] == "change_password"
    # The one-time password served its login: a second login with it is refused.
    again = ukey_login(stack, A, one_time)
    assert again.status_code == 401
    assert again.json()["message"] == "一次性密码已使用或已过期，请联系中心重新重置密码"

    # Ten replays of the change ticket at the same moment: one sets a password, nine are refused.
    ticket = stage.json()["ticket"]
    changes = at_once([partial(httpx.post, auth + "/auth/initial-password",
                               json={"ticket": ticket, "new_password": f"Replay{i}x2026"}, timeout=30)
                       for i in range(10)])
    winners = [i for i, r in enumerate(changes) if r.status_code == 200]
    assert len(winners) == 1, [(r.status_code, r.text) for r in changes]
    assert {r.json()["message"] for r in changes if r.status_code != 200} == {STEP_GONE}
    remember_password(A, f"Replay{winners[0]}x2026")
    selection = changes[winners[0]].json()
    assert selection["stage"] == "select"

    # The same for the choice of the employer: one session, the replays refused.
    chosen = at_once([lambda: httpx.post(auth + "/auth/select",
                                         json={"ticket": selection["ticket"], "employer_no": A}, timeout=30)] * 10)
    assert sorted(r.status_code for r in chosen) == [200] + [401] * 9
    assert {r.json()["message"] for r in chosen if r.status_code == 401} == {STEP_GONE}
    # The password the winner set is the account's password now.
    assert ukey_login(stack, A, password_of(A)).json()["stage"] == "select"


PROBES = [("employer", f"/employers/{A}"), ("member", f"/employers/{A}/members"),
          ("payment", f"/employers/{A}/account"), ("notify", f"/employers/{A}/inbox-counts"),
          ("workflow", "/tasks"), ("auth", "/auth/operators")]


def _status(api: Api, service: str, path: str) -> int:
    """The service's answer to the token as it is, without renewing it."""
    return httpx.get(api.stack.url(service) + path, headers=api.headers, timeout=10).status_code


def _revoked_in(stack: Stack, service: str, session_id: str) -> bool:
    engine = sa.create_engine(stack.database_url(service), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT 1 FROM revoked_sessions WHERE token_id = :id"),
                                   {"id": session_id}).first()
    engine.dispose()
    return found is not None


def test_logout_during_a_redis_outage_ends_the_session_everywhere_within_the_access_lifetime(
        stack: Stack, reliability_report: Recorder) -> None:
    """Redis is stopped, an employer and a center session log out: the auth service refuses their
    tokens at once, every other service within the access lifetime (no event can travel); Redis back,
    the revocation events reach every service (recovery: from Redis's return to the last of them)."""
    lifetime = 10
    with extra_auth(stack, {"HALL_ACCESS_TOKEN_SECONDS": str(lifetime)}) as auth_url:
        sessions = [employer_api(stack, A, auth_url=auth_url), center_api(stack, auth_url=auth_url)]
        for api in sessions:  # each token is live in every service (fresh: the logins take part of its lifetime)
            assert api.refresh().status_code == 200
            assert [s for s, p in PROBES if _status(api, s, p) == 401] == []
        session_ids = [jwt.decode(api.token, options={"verify_signature": False})["sid"] for api in sessions]

        for api in sessions:  # fresh tokens: the logins above may have taken part of the short lifetime
            assert api.refresh().status_code == 200
        stack.stop_process("redis")
        try:
            for api in sessions:
                assert httpx.post(auth_url + "/auth/logout", headers=api.headers, timeout=10).status_code == 200
            logged_out = time.monotonic()
            for api in sessions:
                renewal = api.refresh()  # the refresh token is dead at once, whatever Redis does
                assert renewal.status_code == 401
                assert renewal.json()["message"] == "登录已失效，请重新登录"
                assert _status(api, "auth", "/auth/operators") == 401  # the auth service refuses at once
                api.refresh_token = ""
            # No event can travel: the other services refuse the tokens when they expire, within minutes
            # in production, within this test's short lifetime here.
            wait_for(lambda: all(_status(api, s, p) == 401 for api in sessions for s, p in PROBES),
                     timeout=lifetime + 5, what="every service to refuse the logged-out tokens")
            assert time.monotonic() - logged_out <= lifetime + 3
        finally:
            stack.start_redis()
            back = time.monotonic()

    # Redis is back: the stack recovers and the revocation (the fast path) reaches every service.
    for service in SERVICES:
        assert httpx.get(stack.url(service) + "/health", timeout=10).status_code == 200
    for session_id in session_ids:
        wait_for(lambda sid=session_id: all(_revoked_in(stack, s, sid) for s in SERVICES), timeout=90,
                 what="the revocation events after Redis returned")
    reliability_report.figures(faults=1, lost=0, recovery_seconds=round(time.monotonic() - back, 1))
    fresh = employer_api(stack, A)
    assert fresh.call("GET", "employer", f"/employers/{A}").status_code == 200


def test_changing_permissions_ends_the_accounts_live_sessions(stack: Stack) -> None:
    second = employer_api(stack, A, B)
    assert second.call("GET", "member", f"/employers/{B}/members").status_code == 200
    center = center_api(stack)
    account = next(o for o in center.get("auth", "/auth/operators") if o["login_name"] == B)
    changed = center.call("PUT", "auth", f"/auth/operators/{B}/permissions",
                          json={"permissions": account["permissions"]})
    assert changed.status_code == 200, changed.text
    assert second.refresh().status_code == 401
    second.refresh_token = ""
    wait_for(lambda: all(_status(second, s, p.replace(A, B)) == 401 for s, p in PROBES),
             timeout=15, what="the revocation of the account's sessions")
    # A new login gets a session with the account's permissions.
    assert employer_api(stack, A, B).call("GET", "member", f"/employers/{B}/members").status_code == 200


def test_every_route_answers_401_without_a_valid_token_whether_or_not_the_object_exists(stack: Stack) -> None:
    operations_checked = 0
    declared_public: set[tuple[str, str]] = set()
    for service in SERVICES:
        spec = httpx.get(stack.url(service) + "/openapi.json", timeout=10).json()
        for path, operations in spec["paths"].items():
            for method, operation in ((m.upper(), o) for m, o in operations.items() if m != "parameters"):
                if "public" in operation.get("x-access", ()):
                    declared_public.add((method, path))
                if (method, path) in PUBLIC:
                    continue
                operations_checked += 1
                for employer_no, object_id in ((A, "1"), ("999999999", "999999")):  # existing and missing
                    url = re.sub(r"\{[a-z_]+\}", object_id, path.replace("{employer_no}", employer_no))
                    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
                        response = httpx.request(method, stack.url(service) + url, headers=headers, json={},
                                                 timeout=10)
                        assert response.status_code == 401, (service, method, url, response.text)
        assert httpx.get(stack.url(service) + "/no-such-route/1", timeout=10).status_code == 401
    assert operations_checked >= 25  # every service's routes were seen, not an empty document
    assert declared_public == PUBLIC  # a route made public is one this test knows of, on purpose


def test_an_object_of_another_employer_answers_as_missing(stack: Stack) -> None:
    center = center_api(stack)

    def instance_of_a() -> int | None:
        for status in ("open", "completed"):
            for row in center.get("workflow", "/tasks", status=status, per_page=50)["items"]:
                if row["instance"]["employer_no"] == A:
                    return int(row["instance"]["id"])
        return None

    instance_id = instance_of_a()
    if instance_id is None:  # a fresh stack: file one business of A so that an instance exists
        submitted = submit_change(employer_api(stack, A), {"postcode": "030002"})
        assert submitted.status_code == 201, submitted.text
        instance_id = int(open_task_for(center, submitted.json()["request"]["id"])["instance"]["id"])
    own = employer_api(stack, A)
    assert own.call("GET", "workflow", f"/instances/{instance_id}/path").status_code == 200
    other = employer_api(stack, A, B)
    existing = other.call("GET", "workflow", f"/instances/{instance_id}/path")
    missing = other.call("GET", "workflow", "/instances/999999/path")
    assert (existing.status_code, existing.json()["message"]) == (missing.status_code, missing.json()["message"])
    assert existing.status_code == 404
