"""Session tokens: signed by the auth service (ES256), verified locally by every service.

Each request's bearer token becomes ``g.principal``. Authentication comes before anything else:
every route except the explicit public list answers 401 without a valid token, before it looks up any
object, so an unknown id and an existing one look alike. Routes then state what they need with
``require_employer(employer_no)`` or ``require_center()``; a token of employer A is refused on every
route of employer B.

Access tokens live minutes and carry their session's id (``sid``); a logout or a change of rights
revokes the session (``auth.session_revoked``) and every service refuses its tokens from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt
from flask import Flask, g, request
from sqlalchemy import select

from . import db
from .errors import BusinessError
from .runtime import get_runtime

ALGORITHM = "ES256"
AUDIENCE = "employer-hall"

# Endpoints answered without a token: liveness, the API description, the key that verifies tokens, and
# the login steps (each carries its own proof: password and UKey, a single-use ticket, a refresh token).
PUBLIC_ENDPOINTS = frozenset({
    "health.health",
    "api-docs.openapi_json",
    "auth.public_key",
    "auth.challenge",
    "auth.login",
    "auth.initial_password",
    "auth.select",
    "auth.center_login",
    "auth.refresh",
})


@dataclass(frozen=True)
class Principal:
    login_name: str
    role: str  # "employer" or "center"
    display_name: str
    employer_no: str | None = None
    employer_name: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    # Center staff: the candidate groups (auth's group codes) whose approval tasks they may take.
    groups: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    expires_at: int = 0  # epoch seconds
    session_id: str = ""  # empty for a token issued outside a session (tests, tools)

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.login_name,
            "role": self.role,
            "name": self.display_name,
            "emp": self.employer_no,
            "emp_name": self.employer_name,
            "perms": sorted(self.permissions),
            "grp": sorted(self.groups),
        }


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    return Principal(
        login_name=claims["sub"],
        role=claims["role"],
        display_name=claims.get("name") or claims["sub"],
        employer_no=claims.get("emp"),
        employer_name=claims.get("emp_name"),
        permissions=frozenset(claims.get("perms") or ()),
        groups=frozenset(claims.get("grp") or ()),
        token_id=claims.get("jti", ""),
        expires_at=int(claims.get("exp", 0)),
        session_id=claims.get("sid", ""),
    )


class KeyProvider:
    """Where the public key comes from: a PEM given directly, or fetched once from the auth service."""

    def __init__(self, pem: str | None = None) -> None:
        self._pem = pem

    def public_key(self) -> str:
        if self._pem is None:
            self._pem = _fetch_public_key()
        return self._pem


def _fetch_public_key() -> str:
    from .client import ServiceClient

    body = ServiceClient("auth").get("/auth/public-key")
    return str(body["public_key"])


@lru_cache(maxsize=1)
def default_key_provider() -> KeyProvider:
    return KeyProvider()


def verify_token(token: str, keys: KeyProvider) -> Principal:
    try:
        claims = jwt.decode(token, keys.public_key(), algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise BusinessError("登录已超时，请重新登录", 401) from exc
    except jwt.InvalidTokenError as exc:
        raise BusinessError("登录凭证无效，请重新登录", 401) from exc
    return principal_from_claims(claims)


def init_app(app: Flask, keys: KeyProvider | None = None) -> None:
    provider = keys or default_key_provider()

    @app.before_request
    def _load_principal() -> None:
        g.principal = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            principal = verify_token(header[len("Bearer ") :], provider)
            if is_revoked(principal):
                raise BusinessError("已退出登录，请重新登录", 401)
            g.principal = principal
        elif request.endpoint not in PUBLIC_ENDPOINTS:
            # Default deny, unknown paths included: nothing about an object is told before the token.
            raise BusinessError("请先登录", 401)


def is_revoked(principal: Principal) -> bool:
    model = get_runtime().plumbing.revoked
    ids = [i for i in (principal.session_id, principal.token_id) if i]
    # One core query, not an ORM get per id: this runs before every authenticated request, and two ORM
    # lookups were a quarter of a simple read's CPU (make bench, employer home page).
    query = select(model.token_id).where(model.token_id.in_(ids)).limit(1)
    return bool(ids) and db.session().execute(query).first() is not None


def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise BusinessError("请先登录", 401)
    return principal


def require_employer(employer_no: str | None, permission: str | None = None, missing: str | None = None) -> Principal:
    """The caller acts for this employer (or is center staff, who may see every employer).

    ``missing``: the object was found by its own id, not under the employer's path: to another
    employer it answers as missing (404 with this message), so ids tell nothing about other employers.
    """
    principal = current_principal()
    if principal.role == "center":
        return principal
    if principal.role != "employer" or principal.employer_no != employer_no:
        if missing is not None:
            raise BusinessError(missing, 404)
        raise BusinessError("无权访问其他单位的数据", 403)
    if permission and permission not in principal.permissions:
        raise BusinessError("当前账号无权办理该业务", 403)
    return principal


def require_own_employer(employer_no: str, permission: str | None = None) -> Principal:
    """Only the employer's own operator: business filed in the employer's name."""
    principal = require_employer(employer_no, permission)
    if principal.role != "employer":
        raise BusinessError("该业务只能由单位经办人办理", 403)
    return principal


def require_center() -> Principal:
    principal = current_principal()
    if principal.role != "center":
        raise BusinessError("仅中心人员可办理", 403)
    return principal


# The center permission for the admin console's configuration and repairs (designer, groups, process
# monitor, reassign, terminate, audit); approving needs only membership of the task's group.
CENTER_ADMIN = "center_admin"


def require_center_admin() -> Principal:
    principal = require_center()
    if CENTER_ADMIN not in principal.permissions:
        raise BusinessError("当前账号无权进行该操作", 403)
    return principal
