"""Password login and session tokens.

This is the minimal login of the spine; UKey signatures, lockout and forced password change build on
``login`` and ``issue_token`` without changing the token every other service verifies.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.security import ALGORITHM, AUDIENCE, Principal
from hall_common.settings import get_settings

from .keys import private_key_pem
from .models import CENTER, EMPLOYER, Operator

HASHER = PasswordHasher()
BAD_LOGIN = "单位账号、登录名称或密码错误"
# Every module of the home page; the full login issue lets the center narrow these per account.
EMPLOYER_PERMISSIONS = ["employer_info", "employer_change", "member", "payment", "query"]


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _check_password(operator: Operator | None, password: str) -> bool:
    if operator is None:
        HASHER.hash(password)  # same cost as a real check: timing does not reveal unknown names
        return False
    try:
        return HASHER.verify(operator.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_operator(login_name: str) -> Operator | None:
    return db.session().scalar(select(Operator).where(Operator.login_name == login_name))


def login_employer(employer_no: str, login_name: str, password: str) -> dict[str, Any]:
    operator = find_operator(login_name)
    valid = _check_password(operator, password)
    if not valid or operator is None or operator.role != EMPLOYER or operator.employer_no != employer_no:
        raise BusinessError(BAD_LOGIN, 401)
    return _session_for(operator)


def login_center(login_name: str, password: str) -> dict[str, Any]:
    operator = find_operator(login_name)
    valid = _check_password(operator, password)
    if not valid or operator is None or operator.role != CENTER:
        raise BusinessError("登录名称或密码错误", 401)
    return _session_for(operator)


def _session_for(operator: Operator) -> dict[str, Any]:
    operator.last_login_at = db.utcnow()
    db.session().commit()
    principal = Principal(
        login_name=operator.login_name, role=operator.role, display_name=operator.display_name,
        employer_no=operator.employer_no, employer_name=operator.employer_name,
        permissions=frozenset(operator.permissions or ()),
    )
    return {"token": issue_token(principal), "principal": principal.claims()}


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
