"""The login of manual ch. 1: password and UKey, forced change of the initial password, choice of
the employer account, session tokens and logout.

A login passes through stages, each carried by a short-lived signed ticket: ``change_password``
(first login or after a center reset) and ``select`` (the employers this UKey manages). Only the
selection issues a session token.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import ALGORITHM, AUDIENCE, Principal
from hall_common.settings import get_settings

from . import ukeys
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
from .keys import private_key_pem, public_key_pem
from .models import CENTER, EMPLOYER, Operator, UKeyBinding

TICKET_AUDIENCE = "employer-hall-login"
CHANGE_PASSWORD, SELECT = "change_password", "select"


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
    if operator is None or attempt is None:
        raise BusinessError(BAD_LOGIN, 401)
    if not password_ok or ukey is None:
        raise attempt_failed(attempt, BAD_LOGIN)
    attempt_succeeded(attempt)
    operator.last_login_at = db.utcnow()
    db.session().commit()
    if operator.must_change_password:
        return {"stage": CHANGE_PASSWORD, "ticket": _ticket(operator.login_name, ukey.id, CHANGE_PASSWORD),
                "message": "首次登录或密码已重置，请先修改密码"}
    return _selection(operator.login_name, ukey.id)


def change_initial_password(ticket: str, new_password: str) -> dict[str, Any]:
    claims = _read_ticket(ticket, CHANGE_PASSWORD)
    operator = find_operator(claims["sub"])
    assert operator is not None
    set_password(operator, new_password)
    db.session().commit()
    return _selection(operator.login_name, claims["ukey"])


def _selection(login_name: str, ukey_id: int) -> dict[str, Any]:
    return {"stage": SELECT, "ticket": _ticket(login_name, ukey_id, SELECT),
            "employers": _employers_of(ukey_id)}


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
    claims = _read_ticket(ticket, SELECT)
    ukey = ukeys.get_ukey(claims["ukey"])
    if ukey.status != "active":
        raise BusinessError("UKey证书已注销，请联系中心", 401)
    choice = next((e for e in _employers_of(ukey.id) if e["employer_no"] == employer_no), None)
    if choice is None:
        raise BusinessError("该UKey无权管理所选单位账号", 403)
    operator = find_operator(choice["login_name"])
    assert operator is not None
    if operator.locked_until is not None and operator.locked_until > db.utcnow():
        raise BusinessError("所选单位账号已锁定，请稍后再试", 403)
    return _session_for(operator)


def login_center(login_name: str, password: str) -> dict[str, Any]:
    operator = find_operator(login_name)
    if operator is not None and operator.role != CENTER:
        operator = None
    operator = check_password(operator, password, "登录名称或密码错误")
    operator.last_login_at = db.utcnow()
    db.session().commit()
    return _session_for(operator)


def _session_for(operator: Operator) -> dict[str, Any]:
    principal = Principal(
        login_name=operator.login_name, role=operator.role, display_name=operator.display_name,
        employer_no=operator.employer_no, employer_name=operator.employer_name,
        permissions=frozenset(operator.permissions or ()),
    )
    return {"token": issue_token(principal), "principal": principal.claims(), "sound_enabled": operator.sound_enabled}


def issue_token(principal: Principal) -> str:
    now = datetime.now(UTC)
    claims = {
        **principal.claims(),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=get_settings().token_ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM)


def logout(principal: Principal) -> None:
    """Revoke the session everywhere: every service records the token id from the event."""
    session = db.session()
    emit(session, "auth.session_revoked", {
        "token_id": principal.token_id,
        "login_name": principal.login_name,
        "expires_at": datetime.fromtimestamp(principal.expires_at, UTC).replace(tzinfo=None).isoformat(),
    })
    commit_and_relay(session)


def _ticket(login_name: str, ukey_id: int, stage: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": login_name, "ukey": ukey_id, "stage": stage, "aud": TICKET_AUDIENCE, "iat": now,
              "exp": now + timedelta(seconds=get_settings().login_ticket_seconds)}
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM)


def _read_ticket(ticket: str, stage: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(ticket, public_key_pem(), algorithms=[ALGORITHM], audience=TICKET_AUDIENCE)
    except jwt.InvalidTokenError as exc:
        raise BusinessError("登录已超时，请重新登录", 401) from exc
    if claims.get("stage") != stage:
        raise BusinessError("请先修改密码" if stage == SELECT else "请按登录步骤操作", 403)
    return claims



