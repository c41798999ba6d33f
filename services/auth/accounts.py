"""Accounts: password hashing and rules, lockout, change and center reset, permissions, audit."""

from __future__ import annotations

import math
import re
import secrets
import string
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.permissions import PERMISSIONS
from hall_common.settings import get_settings

from . import sessions
from .models import EMPLOYER, AuditRecord, Operator

HASHER = PasswordHasher()
INITIAL_PASSWORD = "111111"
BAD_LOGIN = "单位账号、登录名称或密码错误"


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


def audit(actor: str, action: str, target: str, detail: str = "") -> None:
    db.session().add(AuditRecord(actor=actor, action=action, target=target, detail=detail))


def check_password(operator: Operator | None, password: str, bad_message: str = BAD_LOGIN) -> Operator:
    """Verify the password, counting failures: after N in a row the account locks for M minutes.

    Failures are committed at once, so a refused login still counts even though the request fails.
    """
    settings = get_settings()
    if operator is None:
        HASHER.hash(password)  # the same cost as a real check: timing does not reveal unknown names
        raise BusinessError(bad_message, 401)
    now = db.utcnow()
    if operator.locked_until is not None and operator.locked_until > now:
        minutes = math.ceil((operator.locked_until - now).total_seconds() / 60)
        raise BusinessError(f"密码连续错误次数过多，账号已锁定，请{minutes}分钟后再试", 403)
    if not _matches(operator.password_hash, password):
        operator.failed_attempts += 1
        left = settings.login_max_failures - operator.failed_attempts
        if left <= 0:
            operator.failed_attempts = 0
            operator.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
            db.session().commit()
            raise BusinessError(
                f"密码连续错误{settings.login_max_failures}次，账号已锁定{settings.login_lock_minutes}分钟", 403
            )
        db.session().commit()
        raise BusinessError(f"{bad_message}，还可尝试{left}次", 401)
    operator.failed_attempts = 0
    operator.locked_until = None
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
    """The center resets a forgotten password: a one-time password the operator must change."""
    operator = get_operator(login_name)
    alphabet = string.ascii_letters + string.digits
    while True:
        one_time = "".join(secrets.choice(alphabet) for _ in range(10))
        if re.search(r"[A-Za-z]", one_time) and re.search(r"\d", one_time):
            break
    operator.password_hash = hash_password(one_time)
    operator.must_change_password = True
    operator.failed_attempts = 0
    operator.locked_until = None
    sessions.one_time_password_issued(operator)
    audit(actor, "reset_password", login_name, "中心重置密码，已发放一次性密码")
    db.session().commit()
    return one_time


def set_permissions(actor: str, login_name: str, permissions: list[str]) -> Operator:
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise BusinessError(f"不存在的权限：{'、'.join(unknown)}", 422)
    operator = get_operator(login_name)
    if operator.role != EMPLOYER:
        raise BusinessError("只能为单位账号分配权限", 422)
    operator.permissions = [p for p in PERMISSIONS if p in permissions]
    audit(actor, "set_permissions", login_name, "、".join(PERMISSIONS[p] for p in operator.permissions))
    sessions.revoke_account_sessions(login_name, "permissions_changed")
    return operator


def set_sound(login_name: str, enabled: bool) -> Operator:
    operator = get_operator(login_name)
    operator.sound_enabled = enabled
    db.session().commit()
    return operator


def employer_accounts() -> list[Operator]:
    query = select(Operator).where(Operator.role == EMPLOYER).order_by(Operator.login_name)
    return list(db.session().scalars(query))


def audit_records(limit: int = 200) -> list[AuditRecord]:
    return list(db.session().scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)))
