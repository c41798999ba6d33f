"""The login of manual ch. 1: password and UKey, forced change of the initial password, choice of
the employer account, session tokens and logout.

A login passes through stages, each carried by a short-lived, single-use ticket (sessions.py):
``change_password`` (first login or after a center reset) and ``select`` (the employers this UKey
manages). Only the selection opens a session.
"""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.security import Principal
from hall_common.settings import get_settings

from . import ghosts, second_factor, sessions, ukeys, webauthn_keys
from .accounts import (
    BAD_LOGIN,
    attempt_failed,
    attempt_succeeded,
    begin_attempt,
    check_password,
    find_operator,
    password_matches,
    set_password,
)
from .models import CENTER, EMPLOYER, Operator, UKeyBinding, WebAuthnCredential

CHANGE_PASSWORD, SELECT = "change_password", "select"
CENTER_BAD_LOGIN = "登录名称或密码错误"


def challenge(login_name: str) -> dict[str, Any]:
    created = ukeys.new_challenge(login_name)
    return {"challenge_id": created.id, "nonce": created.nonce, "expires_at": created.expires_at}


def login_employer(employer_no: str, login_name: str, password: str, challenge_id: str,
                   certificate: str, signature: str) -> dict[str, Any]:
    """Check every secret before answering, and answer every wrong one alike.

    The single-use challenge comes first (its refusals reveal no secret). Then a try is reserved for
    the lockout, the password is hashed whether or not the account exists, and the UKey is checked
    whatever the password: a caller without the key learns nothing about the password, and a wrong
    key costs a try like a wrong password.
    """
    used = ukeys.use_challenge(challenge_id, login_name)
    operator = find_operator(login_name)
    if operator is not None and (operator.role != EMPLOYER or operator.employer_no != employer_no):
        operator = None
    attempt = begin_attempt(operator) if operator is not None else None
    password_ok = password_matches(operator, password)
    ukey = ukeys.login_key(certificate, login_name, used, signature)
    if operator is None or attempt is None:  # counted down and locked as a real account would be
        raise ghosts.failed_login(f"{employer_no}/{login_name}", BAD_LOGIN)
    if not password_ok or ukey is None:
        raise attempt_failed(attempt, BAD_LOGIN)
    attempt_succeeded(attempt)
    operator.last_login_at = db.utcnow()
    db.session().commit()
    if operator.must_change_password:
        return _change_stage(operator, ukey.id)
    return _selection(operator.login_name, ukey.id)


def login_employer_webauthn(employer_no: str, login_name: str, password: str, challenge_id: str,
                            credential: dict[str, Any]) -> dict[str, Any]:
    """Password and security key: the same order, counting and single refusal as ``login_employer``; a
    wrong, revoked, cloned or another account's key costs a try as a wrong password does."""
    used = ukeys.use_challenge(challenge_id, login_name, ukeys.KEY_LOGIN)
    operator = find_operator(login_name)
    if operator is not None and (operator.role != EMPLOYER or operator.employer_no != employer_no):
        operator = None
    attempt = begin_attempt(operator) if operator is not None else None
    password_ok = password_matches(operator, password)
    # Checked whatever the account: an unknown name takes the time a real one does.
    key = webauthn_keys.login_key(login_name, employer_no, used, credential)
    if operator is None or attempt is None:
        raise ghosts.failed_login(f"{employer_no}/{login_name}", BAD_LOGIN)
    if not password_ok or key is None:
        db.session().commit()  # the key did sign with its new count (a wrong password): a copy must not reuse it
        raise attempt_failed(attempt, BAD_LOGIN)
    attempt_succeeded(attempt)
    operator.last_login_at = db.utcnow()
    db.session().commit()
    if operator.must_change_password:
        return _change_stage(operator, None, key.id)
    return _selection(operator.login_name, None, key.id)


def _change_stage(operator: Operator, ukey_id: int | None, webauthn_key: int | None = None) -> dict[str, Any]:
    sessions.take_one_time_password(operator)
    ticket = sessions.issue_ticket(operator.login_name, ukey_id, CHANGE_PASSWORD, webauthn_key=webauthn_key)
    return {"stage": CHANGE_PASSWORD, "ticket": ticket, "message": "首次登录或密码已重置，请先修改密码"}


def change_initial_password(ticket: str, new_password: str) -> dict[str, Any]:
    claims = sessions.consume_ticket(ticket, CHANGE_PASSWORD, "请按登录步骤操作")
    operator = find_operator(claims["sub"])
    if operator is None:
        raise BusinessError(sessions.STEP_GONE, 401)
    sessions.mark_password_changed(operator)
    set_password(operator, new_password)
    db.session().commit()
    return _selection(operator.login_name, claims["ukey"], claims.get("wak"))


def _selection(login_name: str, ukey_id: int | None, webauthn_key: int | None = None) -> dict[str, Any]:
    """The employers this login may choose: those the UKey manages, or a security key's own account's."""
    employers = _own_employer(login_name) if webauthn_key is not None else _employers_of(ukey_id or 0)
    return {"stage": SELECT, "employers": employers,
            "ticket": sessions.issue_ticket(login_name, ukey_id, SELECT, webauthn_key=webauthn_key)}


def _own_employer(login_name: str) -> list[dict[str, str]]:
    operator = find_operator(login_name)
    if operator is None or operator.role != EMPLOYER:
        return []
    return [{"employer_no": operator.employer_no or "", "employer_name": operator.employer_name or "",
             "login_name": operator.login_name}]


def _employers_of(ukey_id: int) -> list[dict[str, str]]:
    query = (
        select(Operator)
        .join(UKeyBinding, UKeyBinding.login_name == Operator.login_name)
        .where(UKeyBinding.ukey_id == ukey_id, Operator.role == EMPLOYER)
        .order_by(Operator.employer_no)
    )
    return [{"employer_no": o.employer_no or "", "employer_name": o.employer_name or "", "login_name": o.login_name}
            for o in db.session().scalars(query)]


def select_employer(ticket: str, employer_no: str) -> dict[str, Any]:
    # Taken first and committed only with the session: a refused choice leaves the ticket usable.
    claims = sessions.consume_ticket(ticket, SELECT, "请先修改密码")
    if claims.get("wak") is not None:
        return _select_with_key(claims, employer_no)
    ukey = ukeys.get_ukey(claims["ukey"])
    if ukey.status != "active":
        raise BusinessError("UKey证书已注销，请联系中心", 401)
    choice = next((e for e in _employers_of(ukey.id) if e["employer_no"] == employer_no), None)
    if choice is None:
        raise BusinessError("该UKey无权管理所选单位账号", 403)
    operator = find_operator(choice["login_name"])
    assert operator is not None
    _not_locked(operator)
    return _session_for(operator, factor="ukey")


def _not_locked(operator: Operator) -> None:
    if operator.locked_until is not None and operator.locked_until > db.utcnow():
        raise BusinessError("所选单位账号已锁定，请稍后再试", 403)


def _select_with_key(claims: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """A security key serves its own account only; revoked (or switched off) since the login: refused."""
    key = db.session().get(WebAuthnCredential, claims["wak"])
    operator = find_operator(claims["sub"])
    if key is None or key.revoked_at is not None or operator is None or key.login_name != operator.login_name:
        raise BusinessError("安全密钥已注销，请联系中心", 401)
    if not webauthn_keys.allowed(operator.employer_no):
        raise BusinessError(webauthn_keys.NOT_ALLOWED, 403)
    if operator.employer_no != employer_no:
        raise BusinessError("该安全密钥无权管理所选单位账号", 403)
    _not_locked(operator)
    opened = _session_for(operator, factor="webauthn")
    claims = jwt.decode(opened["token"], options={"verify_signature": False})  # made just now, by this service
    webauthn_keys.record_session(claims["sid"], key)
    return opened


def login_center(login_name: str, password: str) -> dict[str, Any]:
    """The console's password; with HALL_CENTER_SECOND_FACTOR on, the ticket of the code (or enrolment)
    stage instead of a session (second_factor.py)."""
    operator = find_operator(login_name)
    if operator is not None and operator.role != CENTER:
        operator = None
    if operator is None:
        password_matches(None, password)  # the same time as a real account's check
        raise ghosts.failed_login(f"center/{login_name}", CENTER_BAD_LOGIN)
    if get_settings().center_second_factor:
        attempt = begin_attempt(operator)
        if not password_matches(operator, password):
            raise attempt_failed(attempt, CENTER_BAD_LOGIN)
        # The try stays counted until the code passes: the password alone never ends a run of failures.
        return second_factor.password_passed(operator)
    operator = check_password(operator, password, CENTER_BAD_LOGIN)
    operator.last_login_at = db.utcnow()
    db.session().commit()
    return _session_for(operator, factor="password")


def center_second_step(ticket: str, code: str) -> dict[str, Any]:
    """The code after the console's password (or the one confirming an enrolment): the session."""
    return _session_for(second_factor.verify(ticket, code), factor="totp")


def _session_for(operator: Operator, *, factor: str) -> dict[str, Any]:
    return sessions.open_session(operator, factor=factor)


def issue_token(principal: Principal) -> str:
    """An access token outside any session (tests, tools): it is refused once it expires or is revoked."""
    return sessions.issue_token(principal)[0]


def refresh(refresh_token: str) -> dict[str, Any]:
    return sessions.refresh(refresh_token)


def logout(principal: Principal) -> None:
    """End the session: no renewal from now on, and every service refuses its tokens."""
    sessions.logout(principal)
