"""The center staff's second factor: a TOTP code (RFC 6238, pyotp) after the password, when the setting
HALL_CENTER_SECOND_FACTOR is on (docs/operations.md).

- The password stage hands out a single-use ticket (sessions.issue_ticket) for the code stage; an
  account without a secret gets an enrolment ticket instead: its new secret is shown once (QR code and
  base32 text) and becomes the account's only when a correct code is entered.
- A wrong code is a failed try of the same lockout as a wrong password (accounts.begin_attempt); the
  password alone never ends a run of failures, only the code does.
- A code is spent once: the account keeps the last time-step accepted, and a code passes only by a
  conditional update to a later step (two requests with one code: one wins). One step of drift either way.
- The secret is stored encrypted (Fernet) under a key derived from the auth signing key, and no answer
  returns it once enrolled: a copy of the database alone does not give the codes. Replacing the signing
  key makes the stored secrets unreadable: every center account then enrols again (``reset`` below,
  or ``python -m services.auth.second_factor reset LOGIN`` on the server when no administrator can sign in).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import sys
import time
from typing import Any

import jwt
import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay
from hall_common.security import ALGORITHM

from . import sessions
from .accounts import attempt_failed, attempt_succeeded, audit, begin_attempt, find_operator, get_operator
from .keys import private_key_pem, public_key_pem
from .models import CENTER, LoginTicket, Operator

ISSUER = "住房公积金单位网厅"  # the name the authenticator app shows beside the account
TOTP_STAGE, ENROL_STAGE = "totp", "totp_enrol"
BAD_CODE = "动态口令错误"
UNREADABLE = "动态口令密钥无法读取，请联系管理员重置动态口令"
DRIFT_STEPS = 1  # a code of the step before or after the current one still passes (clock drift, typing time)


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hall-center-totp-secret").derive(
        private_key_pem())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise BusinessError(UNREADABLE, 409) from exc


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time-step whose code this is, within the drift allowed; None if it is no such code."""
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):  # every step compared: constant time
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def password_passed(operator: Operator) -> dict[str, Any]:
    """The password was right: the ticket of the code stage, or of the enrolment for a new account."""
    if operator.totp_secret is not None:
        return {"stage": TOTP_STAGE, "ticket": sessions.issue_ticket(operator.login_name, 0, TOTP_STAGE),
                "message": "请输入动态口令"}
    # A new secret for every password stage, bound to its ticket: a secret shown to an earlier login (someone
    # else's, who knew the password and stopped) is never the one the account binds later.
    operator.totp_pending_secret = seal(pyotp.random_base32())
    db.session().commit()
    return {"stage": ENROL_STAGE, "message": "首次使用动态口令，请先绑定",
            "ticket": sessions.issue_ticket(operator.login_name, 0, ENROL_STAGE,
                                            binds=_digest(operator.totp_pending_secret))}


def _digest(sealed: str) -> str:
    return hashlib.sha256(sealed.encode("ascii")).hexdigest()


def _pending_of(claims: dict[str, Any], operator: Operator) -> str:
    """The pending secret the enrolment ticket was issued with; gone if a later login made a new one."""
    pending = operator.totp_pending_secret
    if pending is None or not hmac.compare_digest(str(claims.get("binds", "")), _digest(pending)):
        raise BusinessError(sessions.STEP_GONE, 401)
    return pending


def _live_ticket(ticket: str, stages: tuple[str, ...]) -> tuple[dict[str, Any], Operator]:
    """The ticket's claims and account, if it is a live, unused ticket of one of these stages (not spent:
    a wrong code leaves it usable until it expires)."""
    try:
        claims: dict[str, Any] = jwt.decode(ticket, public_key_pem(), algorithms=[ALGORITHM],
                                            audience=sessions.TICKET_AUDIENCE)
    except jwt.InvalidTokenError as exc:
        raise BusinessError("登录已超时，请重新登录", 401) from exc
    if claims.get("stage") not in stages:
        raise BusinessError("请按登录步骤操作", 403)
    live = db.session().scalar(select(LoginTicket.id).where(
        LoginTicket.id == str(claims.get("jti", "")), LoginTicket.used_at.is_(None),
        LoginTicket.expires_at > db.utcnow()))
    operator = find_operator(str(claims.get("sub", "")))
    if live is None or operator is None or operator.role != CENTER:
        raise BusinessError(sessions.STEP_GONE, 401)
    return claims, operator


def enrolment(ticket: str) -> dict[str, Any]:
    """What the enrolment page shows: the new secret as text and as the otpauth URI of its QR code."""
    claims, operator = _live_ticket(ticket, (ENROL_STAGE,))
    secret = unseal(_pending_of(claims, operator))  # enrolled meanwhile, reset, or another login since: gone
    uri = pyotp.TOTP(secret).provisioning_uri(name=operator.login_name, issuer_name=ISSUER)
    return {"secret": secret, "otpauth_uri": uri, "login_name": operator.login_name, "issuer": ISSUER}


def verify(ticket: str, code: str) -> Operator:
    """The code stage (or the enrolment's confirmation): the account, once its code is accepted."""
    claims, operator = _live_ticket(ticket, (TOTP_STAGE, ENROL_STAGE))
    attempt = begin_attempt(operator)  # counted, and refused while locked, before the code is looked at
    enrolling = claims["stage"] == ENROL_STAGE
    sealed = _pending_of(claims, operator) if enrolling else operator.totp_secret
    step = matching_step(unseal(sealed), code) if sealed else None
    if step is None:
        raise attempt_failed(attempt, BAD_CODE)
    sessions.consume_ticket(ticket, claims["stage"], "请按登录步骤操作")
    if not _spend(operator, sealed or "", step, enrolling):
        db.session().rollback()  # the ticket stays usable; the try stays counted
        raise attempt_failed(attempt, "该动态口令已使用，请等待下一个动态口令")
    attempt_succeeded(attempt)
    operator.last_login_at = db.utcnow()
    if enrolling:
        audit(operator.login_name, "enrol_totp", operator.login_name, "中心账号绑定动态口令", factor="totp")
    db.session().commit()
    return operator


def _spend(operator: Operator, sealed: str, step: int, enrolling: bool) -> bool:
    """Accept the step once: only while it is later than the last one accepted and the secret is still the
    one the code was checked against (a reset in between refuses it). Enrolment makes the secret the account's."""
    fresh = (Operator.totp_last_step.is_(None)) | (Operator.totp_last_step < step)
    values: dict[str, Any] = {"totp_last_step": step}
    where = [Operator.id == operator.id, fresh]
    if enrolling:
        where += [Operator.totp_pending_secret == sealed, Operator.totp_secret.is_(None)]
        values |= {"totp_secret": sealed, "totp_pending_secret": None, "totp_enrolled_at": db.utcnow()}
    else:
        where.append(Operator.totp_secret == sealed)
    result = db.session().execute(update(Operator).where(*where).values(**values)
                                  .execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def accounts() -> list[dict[str, Any]]:
    """Every center account and whether it has enrolled (the secret itself is never returned)."""
    operators = db.session().scalars(select(Operator).where(Operator.role == CENTER).order_by(Operator.login_name))
    return [{"login_name": o.login_name, "display_name": o.display_name, "enrolled": o.totp_secret is not None,
             "enrolled_at": o.totp_enrolled_at} for o in operators]


def check_reset(actor: str, login_name: str) -> Operator:
    """Whose second factor may be reset by whom: a center account's, by another account (asking and
    confirming alike: under dual control the account itself confirms nothing about its own factor)."""
    operator = get_operator(login_name)
    if operator.role != CENTER:
        raise BusinessError("只能重置中心账号的动态口令", 422)
    if actor == login_name:
        raise BusinessError("不能重置自己的动态口令，请由另一位管理员操作", 403)
    return operator


def reset(actor: str, login_name: str) -> None:
    """The reset at once (dual control off); see ``apply_reset``."""
    apply_reset(actor, login_name)
    commit_and_relay(db.session())


def apply_reset(actor: str, login_name: str, requested_by: str | None = None) -> None:
    """Forget the account's secret, in the caller's transaction: it enrols again at its next login, and
    its open sessions end (a reset usually means a lost or exposed phone). Audited; under dual control
    the actor is the confirming account and ``requested_by`` the one that asked."""
    operator = check_reset(actor, login_name)
    if requested_by is not None:
        check_reset(requested_by, login_name)
    before = {"enrolled": operator.totp_secret is not None}
    _forget(operator)
    after: dict[str, Any] = {"enrolled": False}
    detail = "中心重置动态口令，该账号下次登录时重新绑定"
    if requested_by is not None:
        after |= {"requested_by": requested_by, "confirmed_by": actor}
        detail += f"（{requested_by} 申请，{actor} 复核）"
    audit(actor, "reset_totp", login_name, detail, before=before, after=after)
    sessions.end_sessions([login_name], "second_factor_reset")


def _forget(operator: Operator) -> None:
    operator.totp_secret = operator.totp_pending_secret = None
    operator.totp_last_step = None
    operator.totp_enrolled_at = None


def main(argv: list[str] | None = None) -> int:
    """Break glass on the server: reset a center account's second factor when no administrator can sign
    in (say, after the signing key was replaced). Audited with the actor "cli"."""
    parser = argparse.ArgumentParser(prog="python -m services.auth.second_factor")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("reset", help="forget a center account's TOTP secret").add_argument("login_name")
    args = parser.parse_args(argv)
    from . import create_app

    with create_app().app_context():
        try:
            apply_reset("cli", args.login_name)
        except BusinessError as exc:
            print(f"{args.login_name}: {exc.message}", file=sys.stderr)
            return 1
        commit_and_relay(db.session())
    print(f"{args.login_name}: second factor reset; it enrols again at its next login")
    return 0


if __name__ == "__main__":
    sys.exit(main())
