"""Session tokens: signed by the auth service (ES256), verified locally by every service.

Each request's bearer token becomes ``g.principal``. Authentication comes before anything else:
every route not declared ``public`` answers 401 without a valid token, before it looks up any object,
so an unknown id and an existing one look alike. Who may call a route is declared above it
(``hall_common.access.allow``) and checked here, before the route runs; an employer route then checks
the employer in its path with ``require_employer(employer_no)``: a token of employer A is refused on
every route of employer B.

Access tokens live minutes and carry their session's id (``sid``); a logout or a change of rights
revokes the session (``auth.session_revoked``) and every service refuses its tokens from then on.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt
from flask import Flask, g, request
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select

from . import access, db
from .errors import BusinessError
from .runtime import get_runtime

ALGORITHM = "ES256"
AUDIENCE = "employer-hall"
# How a session was authenticated (its login's factor) -> the token's ``amr`` claim (RFC 8176 values).
# The UKey is a PKCS#11 token proving possession of its hardware key ("hwk"), as a smart card ("sc");
# a WebAuthn authenticator proves a hardware key too, without the smart card. Audit records name the factor.
FACTOR_AMR: dict[str, tuple[str, ...]] = {
    "password": ("pwd",),
    "totp": ("pwd", "otp"),
    "ukey": ("pwd", "hwk", "sc"),
    "webauthn": ("pwd", "hwk"),
}

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
    amr: tuple[str, ...] = ()  # RFC 8176 methods of the session's login (FACTOR_AMR); none outside a session

    @property
    def factor(self) -> str | None:
        """The login's factor by the hall's name (password, totp, ukey, webauthn), None if unknown."""
        return next((name for name, amr in FACTOR_AMR.items() if amr == self.amr), None) if self.amr else None

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": self.login_name,
            "role": self.role,
            "name": self.display_name,
            "emp": self.employer_no,
            "emp_name": self.employer_name,
            "perms": sorted(self.permissions),
            "grp": sorted(self.groups),
        }
        if self.amr:
            claims["amr"] = list(self.amr)
        return claims


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
        amr=tuple(str(m) for m in claims.get("amr") or ()),
    )


def amr_of(factor: str) -> tuple[str, ...]:
    if factor not in FACTOR_AMR:
        raise ValueError(f"unknown login factor {factor!r}")
    return FACTOR_AMR[factor]


class VerifiedTokens:
    """Tokens this process has verified, with their principal. A session sends the same access token
    with every request for minutes, and checking it again (ES256 and PyJWT's pure-Python segment
    checks) was a third of a simple read's CPU. A verified token's signature and claims cannot change;
    only its expiry can end it, and that is checked on every hit. Bounded: the least recently used go."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._items: OrderedDict[str, Principal] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            principal = self._items.get(token)
            if principal is not None:
                self._items.move_to_end(token)
            return principal

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            self._items[token] = principal
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._items.pop(token, None)


class KeyProvider:
    """Where the public key comes from: a PEM given directly, or fetched once from the auth service.
    The parsed key and the tokens verified with it are kept (``verified``)."""

    def __init__(self, pem: str | None = None) -> None:
        self._pem = pem
        self._key: Any = None
        self.verified = VerifiedTokens()

    def public_key(self) -> str:
        if self._pem is None:
            self._pem = _fetch_public_key()
        return self._pem

    def verifying_key(self) -> Any:
        """The parsed public key: PyJWT would parse the PEM again on every decode."""
        if self._key is None:
            self._key = ECAlgorithm(ECAlgorithm.SHA256).prepare_key(self.public_key())
        return self._key


def _fetch_public_key() -> str:
    from .client import ServiceClient

    body = ServiceClient("auth").get("/auth/public-key")
    return str(body["public_key"])


@lru_cache(maxsize=1)
def default_key_provider() -> KeyProvider:
    return KeyProvider()


def verify_token(token: str, keys: KeyProvider) -> Principal:
    known = keys.verified.get(token)
    if known is not None:
        # PyJWT's rule: expired once exp <= now (no leeway); a token without exp does not expire.
        if known.expires_at and known.expires_at <= time.time():
            keys.verified.forget(token)
            raise BusinessError("登录已超时，请重新登录", 401)
        return known
    try:
        claims = jwt.decode(token, keys.verifying_key(), algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise BusinessError("登录已超时，请重新登录", 401) from exc
    except jwt.InvalidTokenError as exc:
        raise BusinessError("登录凭证无效，请重新登录", 401) from exc
    principal = principal_from_claims(claims)
    keys.verified.put(token, principal)
    return principal


def init_app(app: Flask, keys: KeyProvider | None = None) -> None:
    provider = keys or default_key_provider()
    access.check_declared(app)

    @app.before_request
    def _load_principal() -> None:
        g.principal = None
        words = access.declared(app, request.endpoint)
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            principal = verify_token(header[len("Bearer ") :], provider)
            if is_revoked(principal):
                raise BusinessError("服务令牌已撤销，请联系中心重新签发" if principal.role == access.SERVICE
                                    else "已退出登录，请重新登录", 401)
            g.principal = principal
        elif not access.is_public(words):
            # Default deny, unknown paths included: nothing about an object is told before the token.
            raise BusinessError("请先登录", 401)
        if words is not None and g.principal is not None:
            access.enforce(words, g.principal.role, g.principal.permissions)
            # An employer's token under another employer's path: refused here, before the body is read
            # or anything looked up, whatever the route (its own require_employer says the same later).
            path_employer = (request.view_args or {}).get("employer_no")
            if (g.principal.role == "employer" and path_employer is not None
                    and path_employer != g.principal.employer_no):
                raise BusinessError("无权访问其他单位的数据", 403)


# (service, session id, token id) -> when the database last said "not revoked" (time.monotonic())
_not_revoked: dict[tuple[str, str, str], float] = {}
_not_revoked_lock = threading.Lock()


def is_revoked(principal: Principal) -> bool:
    """Whether the token's session (or the token itself) was revoked.

    The services other than auth learn of a revocation from the ``auth.session_revoked`` event, that
    is some moments after the logout anyway; they ask their table at most once per
    ``runtime.revocation_recheck_seconds`` per token (a query on every request was a fifth of a simple
    read's CPU), so a revocation takes effect up to that much later. The auth service (0: every
    request) refuses at once, as it records the revocation itself.
    """
    runtime = get_runtime()
    ids = [i for i in (principal.session_id, principal.token_id) if i]
    if not ids:
        return False
    key = (runtime.name, principal.session_id, principal.token_id)
    recheck = runtime.revocation_recheck_seconds
    now = time.monotonic()
    if recheck > 0:
        with _not_revoked_lock:
            checked = _not_revoked.get(key)
        if checked is not None and now - checked < recheck:
            return False
    model = runtime.plumbing.revoked
    # One core query, not an ORM get per id.
    query = select(model.token_id).where(model.token_id.in_(ids)).limit(1)
    revoked = db.session().execute(query).first() is not None
    if recheck > 0 and not revoked:
        with _not_revoked_lock:
            if len(_not_revoked) > 10_000:  # bounded: the live tokens of one process are far fewer
                _not_revoked.clear()
            _not_revoked[key] = now
    return revoked


def forget_not_revoked(revoked_id: str) -> None:
    """This process has just recorded a revocation: its own next check asks the table."""
    with _not_revoked_lock:
        for key in [k for k in _not_revoked if revoked_id in k[1:]]:
            del _not_revoked[key]


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


def require_reader(employer_no: str, permission: str | None = None) -> Principal:
    """As ``require_employer``, or a service token: the route's access words (``service:<permission>``)
    already decided that the service may read any employer's figures (the employer service's 零余额销户
    check reads the payment, member and workflow services)."""
    principal = current_principal()
    if principal.role == access.SERVICE:
        return principal
    return require_employer(employer_no, permission)


def require_own_employer(employer_no: str, permission: str | None = None) -> Principal:
    """Only the employer's own operator: business filed in the employer's name."""
    principal = require_employer(employer_no, permission)
    if principal.role != "employer":
        raise BusinessError("该业务只能由单位经办人办理", 403)
    return principal


SERVICE = access.SERVICE
