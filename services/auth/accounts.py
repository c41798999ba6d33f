"""Accounts: password hashing and rules, lockout, change and center reset, permissions, audit."""

from __future__ import annotations

import math
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, or_, select, update

from hall_common import audit as audit_trail
from hall_common import db
from hall_common.errors import BusinessError
from hall_common.permissions import PERMISSIONS
from hall_common.settings import get_settings

from . import sessions
from .models import EMPLOYER, AuditRecord, Operator

HASHER = PasswordHasher()
INITIAL_PASSWORD = "111111"
# One answer for every wrong secret of an employer login: it must not say which one was wrong.
BAD_LOGIN = "登录失败：单位账号、登录名称、密码或UKey验证未通过"


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_operator(login_name: str) -> Operator | None:
    return db.session().scalar(select(Operator).where(Operator.login_name == login_name))


def get_operator(login_name: str) -> Operator:
    operator = find_operator(login_name)
    if operator is None:
        raise BusinessError("账号不存在", 404)
    return operator


def audit(actor: str, action: str, target: str, detail: str = "", *, before: Any = None, after: Any = None,
          factor: str | None = None) -> None:
    """An audit record in the action's own transaction (secrets such as passwords are never recorded)."""
    audit_trail.record(db.session(), AuditRecord, actor, action, target, detail=detail, before=before, after=after,
                       factor=factor)


@dataclass(frozen=True)
class Attempt:
    """One reserved try at an account's secrets: its place in the current run of failures."""

    login_name: str
    number: int


def begin_attempt(operator: Operator) -> Attempt:
    """Reserve a try before any secret is checked, so that concurrent wrong guesses are counted exactly.

    One conditional UPDATE decides (SQLite ignores FOR UPDATE): it succeeds only while the account has
    tries left and is not locked, and the try that reaches the limit locks the account at once; success
    lifts the lock again (``attempt_succeeded``). A lock that has run out starts a new run of tries.
    The reservation is committed before the slow checks, so it counts even if the request dies.
    """
    settings = get_settings()
    now = db.utcnow()
    expired = and_(Operator.locked_until.is_not(None), Operator.locked_until <= now)
    number = case((expired, 0), else_=Operator.failed_attempts) + 1
    open_account = or_(expired, and_(Operator.locked_until.is_(None),
                                     Operator.failed_attempts < settings.login_max_failures))
    session = db.session()
    reserved = session.execute(
        update(Operator)
        .where(Operator.login_name == operator.login_name, open_account)
        .values(failed_attempts=number, locked_until=case(
            (number >= settings.login_max_failures, now + timedelta(minutes=settings.login_lock_minutes)),
            else_=None))
        .returning(Operator.failed_attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    session.commit()
    if reserved is None:
        raise _locked(operator.login_name, now)
    return Attempt(operator.login_name, reserved)


def _locked(login_name: str, now: datetime) -> BusinessError:
    locked_until = db.session().scalar(select(Operator.locked_until).where(Operator.login_name == login_name))
    return locked_refusal((locked_until - now).total_seconds() if locked_until else 0.0)


def locked_refusal(seconds_left: float) -> BusinessError:
    """The lock's refusal with the minutes left, never more than a lock lasts: a concurrent attempt
    whose clock was read just before another one set the lock sees a little over the full time."""
    lock_minutes = get_settings().login_lock_minutes
    minutes = min(math.ceil(seconds_left / 60), lock_minutes) if seconds_left > 0 else lock_minutes
    return BusinessError(f"密码连续错误次数过多，账号已锁定，请{minutes}分钟后再试", 403)


def attempt_succeeded(attempt: Attempt) -> None:
    """Every secret was right: the run of failures ends (committed with the caller's own changes)."""
    db.session().execute(
        update(Operator).where(Operator.login_name == attempt.login_name)
        .values(failed_attempts=0, locked_until=None).execution_options(synchronize_session=False)
    )


def attempt_failed(attempt: Attempt, bad_message: str) -> BusinessError:
    """The refusal of a failed try (already counted by its reservation)."""
    settings = get_settings()
    if attempt.number >= settings.login_max_failures:
        return BusinessError(
            f"密码连续错误{settings.login_max_failures}次，账号已锁定{settings.login_lock_minutes}分钟", 403
        )
    return BusinessError(f"{bad_message}，还可尝试{settings.login_max_failures - attempt.number}次", 401)


def password_matches(operator: Operator | None, password: str) -> bool:
    """Always one argon2 computation, so the time taken does not reveal whether the account exists."""
    if operator is None:
        HASHER.hash(password)
        return False
    return _matches(operator.password_hash, password)


def check_password(operator: Operator | None, password: str, bad_message: str) -> Operator:
    """A password-only login (center staff, the old password of a change), counted for the lockout."""
    if operator is None:
        password_matches(None, password)
        raise BusinessError(bad_message, 401)
    attempt = begin_attempt(operator)
    if not password_matches(operator, password):
        raise attempt_failed(attempt, bad_message)
    attempt_succeeded(attempt)
    return operator


def validate_new_password(operator: Operator, new_password: str) -> None:
    problems = []
    if len(new_password) < 8:
        problems.append("新密码长度不能少于8位")
    if not (re.search(r"[A-Za-z]", new_password) and re.search(r"\d", new_password)):
        problems.append("新密码必须同时包含字母和数字")
    if _matches(operator.password_hash, new_password):
        problems.append("新密码不能与原密码相同")
    if problems:
        raise BusinessError("；".join(problems), 422, {"json": {"new_password": problems}})


def set_password(operator: Operator, new_password: str) -> None:
    validate_new_password(operator, new_password)
    operator.password_hash = hash_password(new_password)
    operator.must_change_password = False
    audit(operator.login_name, "change_password", operator.login_name)


def change_password(login_name: str, old_password: str, new_password: str) -> None:
    try:
        operator = check_password(find_operator(login_name), old_password, "原密码错误")
    except BusinessError as exc:
        if exc.status != 401:
            raise
        # A wrong old password is a field error of a valid session, not a failed authentication.
        raise BusinessError(exc.message, 422, {"json": {"old_password": [exc.message]}}) from exc
    set_password(operator, new_password)
    db.session().commit()


def reset_password(actor: str, login_name: str) -> str:
    """The center resets a forgotten password at once (dual control off): see ``apply_reset``."""
    one_time = apply_reset(actor, login_name)
    db.session().commit()
    return one_time


def apply_reset(actor: str, login_name: str, requested_by: str | None = None) -> str:
    """A one-time password the operator must change, in the caller's transaction. Under dual control the
    actor is the confirming account and ``requested_by`` the one that asked; the password is made now,
    so it exists nowhere but in the confirmer's answer (only its hash is stored)."""
    operator = get_operator(login_name)
    alphabet = string.ascii_letters + string.digits
    while True:
        one_time = "".join(secrets.choice(alphabet) for _ in range(10))
        if re.search(r"[A-Za-z]", one_time) and re.search(r"\d", one_time):
            break
    before = {"must_change_password": operator.must_change_password, "locked": operator.locked_until is not None}
    operator.password_hash = hash_password(one_time)
    operator.must_change_password = True
    operator.failed_attempts = 0
    operator.locked_until = None
    sessions.one_time_password_issued(operator)
    after: dict[str, Any] = {"must_change_password": True, "locked": False, "one_time_password": "已发放"}
    detail = "中心重置密码，已发放一次性密码"
    if requested_by is not None:
        after |= {"requested_by": requested_by, "confirmed_by": actor}
        detail += f"（{requested_by} 申请，{actor} 复核）"
    audit(actor, "reset_password", login_name, detail, before=before, after=after)
    return one_time


def set_permissions(actor: str, login_name: str, permissions: list[str]) -> Operator:
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise BusinessError(f"不存在的权限：{'、'.join(unknown)}", 422)
    operator = get_operator(login_name)
    if operator.role != EMPLOYER:
        raise BusinessError("只能为单位账号分配权限", 422)
    before = list(operator.permissions or [])
    operator.permissions = [p for p in PERMISSIONS if p in permissions]
    audit(actor, "set_permissions", login_name, "、".join(PERMISSIONS[p] for p in operator.permissions),
          before={"permissions": before}, after={"permissions": operator.permissions})
    sessions.revoke_account_sessions(login_name, "permissions_changed")
    return operator


def set_sound(login_name: str, enabled: bool) -> Operator:
    operator = get_operator(login_name)
    operator.sound_enabled = enabled
    db.session().commit()
    return operator


def set_large_text(login_name: str, enabled: bool) -> Operator:
    operator = get_operator(login_name)
    operator.large_text = enabled
    db.session().commit()
    return operator


def employer_accounts() -> list[Operator]:
    query = select(Operator).where(Operator.role == EMPLOYER).order_by(Operator.login_name)
    return list(db.session().scalars(query))
