"""The center's side of security keys: the switch per employer, and the one-time enrolment codes that
let an operator without a UKey register a key (with the account's password, checked and counted as a
login's: a wrong password or code costs a try)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay
from hall_common.settings import get_settings

from . import ghosts, sessions, webauthn_keys
from .accounts import (
    BAD_LOGIN,
    attempt_failed,
    attempt_succeeded,
    audit,
    begin_attempt,
    employer_accounts,
    find_operator,
    get_operator,
    password_matches,
)
from .models import EMPLOYER, EnrolmentCode, WebAuthnSwitch

# Readable aloud and typed without confusion: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
BAD_CODE = "登记码无效、已使用或已过期，请联系中心重新发放"


def _digest(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(b"hall-enrolment-code\0" + normal.encode("utf-8")).hexdigest()


def switches() -> dict[str, bool]:
    return {s.employer_no: s.allowed for s in db.session().scalars(select(WebAuthnSwitch))}


def set_allowed(actor: str, employer_no: str, allowed: bool) -> WebAuthnSwitch:
    """Allow or refuse security keys for an employer's accounts. Refusing ends the sessions a key opened
    (the UKey's go on) and refuses the keys from then on; they stay registered, and allowing again restores
    them."""
    accounts = [o.login_name for o in employer_accounts() if o.employer_no == employer_no]
    if not accounts:
        raise BusinessError("单位账号不存在", 404)
    session = db.session()
    switch = session.get(WebAuthnSwitch, employer_no)
    before = switch.allowed if switch is not None else False
    if switch is None:
        switch = WebAuthnSwitch(employer_no=employer_no, allowed=allowed, changed_by=actor)
        session.add(switch)
    switch.allowed, switch.changed_by, switch.changed_at = allowed, actor, db.utcnow()
    audit(actor, "webauthn_switch", employer_no, "允许使用安全密钥登录" if allowed else "停用安全密钥登录",
          before={"allowed": before}, after={"allowed": allowed})
    if not allowed:  # committed with the switch, each end announced as a revocation is
        sessions.end_sessions_by_id(webauthn_keys.sessions_opened_with_keys(accounts), "webauthn_switched_off")
    commit_and_relay(session)
    return switch


def issue_code(actor: str, login_name: str) -> tuple[str, EnrolmentCode]:
    """A one-time enrolment code for an employer account; only its hash is kept, the code is shown once."""
    operator = get_operator(login_name)
    if operator.role != EMPLOYER:
        raise BusinessError("安全密钥只能登记在单位账号上", 422)
    if not webauthn_keys.allowed(operator.employer_no):
        raise BusinessError("中心未开通该单位的安全密钥登录，请先开通", 409)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = db.utcnow()
    row = EnrolmentCode(login_name=login_name, code_hash=_digest(code), issued_by=actor, issued_at=now,
                        expires_at=now + timedelta(hours=get_settings().webauthn_code_hours))
    session = db.session()
    session.add(row)
    session.flush()
    audit(actor, "webauthn_code_issue", login_name, f"发放安全密钥登记码（有效期至 {row.expires_at:%Y-%m-%d %H:%M}）",
          after={"code_id": row.id, "expires_at": row.expires_at.isoformat()})
    session.commit()
    return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4)), row


def _live_code(login_name: str, code: str) -> EnrolmentCode | None:
    row = db.session().scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == _digest(code)))
    if row is None or row.login_name != login_name or row.used_at is not None or row.expires_at <= db.utcnow():
        return None
    return row


def enrolment_options(employer_no: str, login_name: str, password: str, code: str) -> dict[str, Any]:
    """The registration options for an operator without a UKey: the password and the code are checked
    like a login's secrets (one refusal for either, counted toward the lockout); the code is spent only
    by the registration itself."""
    operator = find_operator(login_name)
    if operator is not None and (operator.role != EMPLOYER or operator.employer_no != employer_no):
        operator = None
    attempt = begin_attempt(operator) if operator is not None else None
    password_ok = password_matches(operator, password)
    live = _live_code(login_name, code) if operator is not None else None
    if operator is None or attempt is None:
        raise ghosts.failed_login(f"{employer_no}/{login_name}", BAD_LOGIN)
    if not password_ok or live is None:
        raise attempt_failed(attempt, BAD_LOGIN)
    attempt_succeeded(attempt)
    db.session().commit()
    return webauthn_keys.registration_options(login_name)


def enrol_with_code(login_name: str, code: str, challenge_id: str, credential: dict[str, Any], name: str) -> Any:
    """Register the key and spend the code in one transaction: of two registrations with one code only
    one finds it unused (a conditional update); the other is refused and keeps nothing."""
    key = webauthn_keys.register(login_name, login_name, challenge_id, credential, name, "使用中心登记码")
    session = db.session()
    spent = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.code_hash == _digest(code), EnrolmentCode.login_name == login_name,
               EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > db.utcnow())
        .values(used_at=db.utcnow())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise BusinessError(BAD_CODE, 409)
    session.commit()
    return key
