"""The console's second factor (services/auth/second_factor.py), with HALL_CENTER_SECOND_FACTOR on: the
password stage hands out a ticket, an account without a secret enrols (the secret stored encrypted,
never returned once enrolled), a code passes once and within one step of drift, a wrong code counts
toward the lockout like a wrong password, and of ten requests with one code at once exactly one passes,
on SQLite and PostgreSQL. The session's factor is the token's amr and names the actor's factor in the
audit records of what it does; with the setting off the console login is the password alone."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from deploy import demo_data as demo
from hall_common import db
from hall_common.security import KeyProvider, verify_token
from hall_common.settings import reset_settings
from services.auth import second_factor
from services.auth.models import AuditRecord, HallSession, Operator

from ...threads import at_once
from ..conftest import AnyDb
from .conftest import A, full_login, message

ADMIN, REVIEWER = demo.CENTER_LOGIN, demo.REVIEWER_LOGIN


@pytest.fixture(autouse=True)
def second_factor_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_CENTER_SECOND_FACTOR", "true")
    reset_settings()


def _password(client: FlaskClient, login: str = ADMIN, password: str = demo.CENTER_PASSWORD) -> Any:
    return client.post("/auth/center-login", json={"login_name": login, "password": password})


def _code(client: FlaskClient, ticket: str, code: str) -> Any:
    return client.post("/auth/center-totp", json={"ticket": ticket, "code": code})


@pytest.fixture(autouse=True)
def early_in_a_step() -> None:
    """The tests name codes by their step from now: start them well inside a step, not at its edge."""
    if time.time() % 30 > 20:
        time.sleep(30 - time.time() % 30 + 0.1)


def _at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def _enrol(client: FlaskClient, login: str = ADMIN, offset_steps: int = 0) -> tuple[str, dict[str, Any]]:
    """Enrol the account (its code of the step ``offset_steps`` from now); its secret and the session."""
    stage = _password(client, login).get_json()
    assert stage["stage"] == "totp_enrol", stage
    secret = client.post("/auth/center-totp/enrolment", json={"ticket": stage["ticket"]}).get_json()["secret"]
    session = _code(client, stage["ticket"], _at(secret, offset_steps))
    assert session.status_code == 200, session.get_json()
    return secret, session.get_json()


def _operator(app: Flask, login: str) -> Operator:
    with app.app_context():
        row = db.session().scalar(select(Operator).where(Operator.login_name == login))
        assert row is not None
        db.session().expunge(row)
        return row


def _amr(client: FlaskClient, token: str) -> tuple[str, ...]:
    return verify_token(token, KeyProvider(client.get("/auth/public-key").get_json()["public_key"])).amr


def test_with_the_setting_off_the_console_login_is_the_password_alone(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_CENTER_SECOND_FACTOR", "false")
    reset_settings()
    session = _password(client).get_json()
    assert "stage" not in session
    assert _amr(client, session["token"]) == ("pwd",)
    assert session["principal"]["amr"] == ["pwd"]


def test_a_center_session_of_the_password_alone_ends_at_its_next_renewal_once_the_setting_is_on(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_CENTER_SECOND_FACTOR", "false")
    reset_settings()
    before = _password(client).get_json()
    assert client.post("/auth/refresh", json={"refresh_token": before["refresh_token"]}).status_code == 200
    monkeypatch.setenv("HALL_CENTER_SECOND_FACTOR", "true")
    reset_settings()
    renewed = client.post("/auth/refresh", json={"refresh_token": before["refresh_token"]})
    assert renewed.status_code == 401 and message(renewed) == "请重新登录并输入动态口令"
    _secret, after = _enrol(client)  # a session with the code renews
    assert client.post("/auth/refresh", json={"refresh_token": after["refresh_token"]}).status_code == 200


def test_enrolment_shows_the_secret_once_and_completes_only_with_a_correct_code(
    app: Flask, client: FlaskClient
) -> None:
    stage = _password(client).get_json()
    assert stage["stage"] == "totp_enrol" and "token" not in stage
    shown = client.post("/auth/center-totp/enrolment", json={"ticket": stage["ticket"]}).get_json()
    secret = shown["secret"]
    assert shown["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in shown["otpauth_uri"]
    # A reloaded page shows its ticket's secret again; another password stage (a second tab, or someone
    # else who knows the password and stops there) makes a new secret bound to its own ticket, so a secret
    # shown before is never the one bound later: the first ticket's page and code are gone.
    assert client.post("/auth/center-totp/enrolment", json={"ticket": stage["ticket"]}).get_json()["secret"] == secret
    again = _password(client).get_json()
    other = client.post("/auth/center-totp/enrolment", json={"ticket": again["ticket"]}).get_json()["secret"]
    assert other != secret
    assert client.post("/auth/center-totp/enrolment", json={"ticket": stage["ticket"]}).status_code == 401
    assert _code(client, stage["ticket"], _at(secret)).status_code == 401
    stage, secret = again, other
    stored = _operator(app, ADMIN)
    assert stored.totp_secret is None and stored.totp_pending_secret and secret not in stored.totp_pending_secret
    wrong = _code(client, stage["ticket"], "000000" if _at(secret) != "000000" else "111111")
    assert wrong.status_code == 401 and message(wrong).startswith("动态口令错误，还可尝试")
    assert _operator(app, ADMIN).totp_secret is None  # not enrolled by a wrong code
    session = _code(client, stage["ticket"], _at(secret))
    assert session.status_code == 200, session.get_json()
    assert _amr(client, session.get_json()["token"]) == ("pwd", "otp")
    enrolled = _operator(app, ADMIN)
    assert enrolled.totp_pending_secret is None and enrolled.totp_secret and secret not in enrolled.totp_secret
    assert enrolled.failed_attempts == 0
    # The ticket is spent; the next login asks for the code and never shows the secret again.
    assert _code(client, stage["ticket"], _at(secret, 1)).status_code == 401
    following = _password(client).get_json()
    assert following["stage"] == "totp"
    refused = client.post("/auth/center-totp/enrolment", json={"ticket": following["ticket"]})
    assert refused.status_code == 403 and "secret" not in refused.get_json()
    with app.app_context():
        record = db.session().scalar(select(AuditRecord).where(AuditRecord.action == "enrol_totp"))
        assert record is not None and record.actor == ADMIN and record.factor == "totp"
        assert secret not in (record.detail + str(record.after))


def test_a_code_passes_once_and_within_one_step_of_drift(app: Flask, client: FlaskClient) -> None:
    secret, _ = _enrol(client, offset_steps=-1)  # the step before: drift
    ticket = _password(client).get_json()["ticket"]
    replayed = _code(client, ticket, _at(secret, -1))
    assert replayed.status_code == 401 and message(replayed).startswith("该动态口令已使用")
    assert _code(client, ticket, _at(secret, 2)).status_code == 401  # two steps ahead: not a code now
    assert _code(client, ticket, _at(secret, -2)).status_code == 401
    assert _code(client, ticket, _at(secret, 1)).status_code == 200  # the step after: drift, same ticket
    later = _password(client).get_json()["ticket"]
    # An earlier step than the one last used is refused too, even inside the drift window.
    assert message(_code(client, later, _at(secret))).startswith("该动态口令已使用")
    now = time.time()
    step = int(now // 30)
    assert second_factor.matching_step(secret, pyotp.TOTP(secret).at(now - 30), now) == step - 1
    assert second_factor.matching_step(secret, pyotp.TOTP(secret).at(now + 30), now) == step + 1
    assert second_factor.matching_step(secret, pyotp.TOTP(secret).at(now + 60), now) is None


def test_wrong_codes_count_toward_the_lockout_and_the_password_alone_does_not_end_the_run(
    app: Flask, client: FlaskClient
) -> None:
    secret, _ = _enrol(client)
    wrong = "000000" if _at(secret) != "000000" else "111111"
    ticket = _password(client).get_json()["ticket"]  # try 1 (counted until the code passes)
    assert message(_code(client, ticket, wrong)) == "动态口令错误，还可尝试3次"  # try 2
    assert message(_code(client, ticket, wrong)) == "动态口令错误，还可尝试2次"  # try 3
    ticket = _password(client).get_json()["ticket"]  # try 4: a right password ends nothing
    assert _operator(app, ADMIN).failed_attempts == 4
    locked = _code(client, ticket, wrong)  # try 5: locked
    assert locked.status_code == 403 and "锁定" in message(locked)
    refused = _code(client, ticket, _at(secret, 1))  # the right code cannot open a locked account
    assert refused.status_code == 403 and "锁定" in message(refused)
    assert _password(client).status_code == 403


def test_a_right_code_ends_the_run_of_failures(app: Flask, client: FlaskClient) -> None:
    secret, _ = _enrol(client, offset_steps=-1)
    ticket = _password(client).get_json()["ticket"]
    assert _code(client, ticket, "000000" if _at(secret) != "000000" else "111111").status_code == 401
    assert _code(client, ticket, _at(secret)).status_code == 200
    assert _operator(app, ADMIN).failed_attempts == 0


def test_ten_requests_with_one_code_at_once_pass_once(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_LOGIN_MAX_FAILURES", "100")  # the nine refusals must not lock the account
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ACCOUNT", "100 per minute")
    reset_settings()
    app = any_db.app("auth")
    client = app.test_client()
    secret, _ = _enrol(client, offset_steps=-1)
    tickets = [_password(client).get_json()["ticket"] for _ in range(10)]  # ten browsers past the password
    code = _at(secret)
    answers = at_once([partial(_code, client, ticket, code) for ticket in tickets])
    statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
    assert statuses == [200] + [401] * 9, statuses
    assert all(message(a).startswith("该动态口令已使用") for a in answers if a.status_code == 401)
    with app.app_context():
        opened = db.session().scalars(select(HallSession).where(HallSession.login_name == ADMIN,
                                                                HallSession.factor == "totp")).all()
    assert len(opened) == 2  # the enrolment's and the one winner's


def test_an_administrator_resets_anothers_second_factor_audited_with_its_own_factor(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALL_DUAL_CONTROL", "false")  # a single-person installation: the reset acts at once
    reset_settings()
    _enrol(client, REVIEWER)
    _, admin = _enrol(client, ADMIN)
    headers = {"Authorization": f"Bearer {admin['token']}"}
    listed = {a["login_name"]: a for a in client.get("/auth/center-second-factors", headers=headers).get_json()}
    assert listed[ADMIN]["enrolled"] and listed[REVIEWER]["enrolled"]
    assert not any("secret" in key for account in listed.values() for key in account)
    own = client.post(f"/auth/center-second-factors/{ADMIN}/reset", headers=headers)
    assert own.status_code == 403
    assert client.post("/auth/center-second-factors/100100001/reset", headers=headers).status_code == 422
    done = client.post(f"/auth/center-second-factors/{REVIEWER}/reset", headers=headers)
    assert done.status_code == 200, done.get_json()
    with app.app_context():
        record = db.session().scalar(select(AuditRecord).where(AuditRecord.action == "reset_totp"))
        assert record is not None and (record.actor, record.target, record.factor) == (ADMIN, REVIEWER, "totp")
        live = db.session().scalars(select(HallSession).where(HallSession.login_name == REVIEWER,
                                                              HallSession.revoked_at.is_(None))).all()
        assert live == []  # its sessions ended with the reset
    assert _password(client, REVIEWER).get_json()["stage"] == "totp_enrol"  # it enrols again


def test_under_dual_control_a_second_administrator_confirms_the_reset(app: Flask, client: FlaskClient) -> None:
    _enrol(client, REVIEWER)
    _, admin = _enrol(client, ADMIN)
    _, second = _enrol(client, demo.ADMIN2_LOGIN)
    asked = client.post(f"/auth/center-second-factors/{REVIEWER}/reset",
                        headers={"Authorization": f"Bearer {admin['token']}"})
    assert asked.status_code == 202, asked.get_json()
    approval = asked.get_json()["approval"]
    assert approval["kind"] == "reset_totp" and approval["title"] == "重置动态口令"
    assert _operator(app, REVIEWER).totp_secret is not None  # nothing happens before the confirmation
    by_admin, by_second = ({"Authorization": f"Bearer {s['token']}"} for s in (admin, second))
    assert client.post(f"/auth/approvals/{approval['id']}/confirm", headers=by_admin).status_code == 403
    confirmed = client.post(f"/auth/approvals/{approval['id']}/confirm", headers=by_second)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert _operator(app, REVIEWER).totp_secret is None
    with app.app_context():
        record = db.session().scalar(select(AuditRecord).where(AuditRecord.action == "reset_totp"))
        assert record is not None and (record.actor, record.factor) == (demo.ADMIN2_LOGIN, "totp")
        assert f"{ADMIN} 申请，{demo.ADMIN2_LOGIN} 复核" in record.detail
    # The account whose factor it is cannot confirm a reset of its own factor.
    again = client.post(f"/auth/center-second-factors/{demo.ADMIN2_LOGIN}/reset", headers=by_admin).get_json()
    refused = client.post(f"/auth/approvals/{again['approval']['id']}/confirm", headers=by_second)
    assert refused.status_code == 403 and _operator(app, demo.ADMIN2_LOGIN).totp_secret is not None


def test_the_factor_outlives_renewals_and_an_employers_ukey_login_says_ukey(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    _, session = _enrol(client)
    renewed = client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]}).get_json()
    assert _amr(client, renewed["token"]) == ("pwd", "otp")
    assert verify_token(renewed["token"], KeyProvider(client.get("/auth/public-key").get_json()["public_key"])
                        ).factor == "totp"
    employer = full_login(client, A, "UK-A")
    assert _amr(client, employer["token"]) == ("pwd", "hwk", "sc")
    with app.app_context():
        factors = set(db.session().scalars(select(HallSession.factor)))
    assert factors == {"totp", "ukey"}


def test_the_server_command_resets_a_center_account_when_no_administrator_can_sign_in(
    app: Flask, client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _enrol(client)
    assert second_factor.main(["reset", ADMIN]) == 0
    assert _operator(app, ADMIN).totp_secret is None
    assert second_factor.main(["reset", "100100001"]) == 1  # an employer account has no such factor
    assert "只能重置中心账号的动态口令" in capsys.readouterr().err
    with app.app_context():
        record = db.session().scalar(select(AuditRecord).where(AuditRecord.action == "reset_totp"))
        assert record is not None and (record.actor, record.target, record.factor) == ("cli", ADMIN, None)
    assert _password(client).get_json()["stage"] == "totp_enrol"
