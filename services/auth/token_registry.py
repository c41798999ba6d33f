"""Service tokens as the center issued them: recorded at issue, listed, and withdrawn one by one.

A service token is verified locally by every service like an access token, so withdrawing it works
like a logout without a session: its id (``jti``) is revoked here at once and announced with
``auth.session_revoked``; every service keeps the id in its revoked table until the token's expiry and
refuses the token within ``revocation_recheck_seconds`` of hearing of it. The token itself is never
stored: it is shown once, when issued.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update

from hall_common import audit, db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay
from hall_common.permissions import SERVICE_PERMISSIONS
from hall_common.security import ALGORITHM, AUDIENCE, SERVICE, Principal

from .keys import private_key_pem
from .models import AuditRecord, ServiceToken
from .sessions import record_revocation

# What a service token may be issued for: push messages (downstream systems), page the employer list
# (the notify worker's broadcast).
PERMISSIONS = tuple(SERVICE_PERMISSIONS)
MAX_DAYS = 3 * 365
# A system's name: what the services record as the sender (notify keeps 50 characters of it).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
ACTIVE, WITHDRAWN, EXPIRED = "active", "withdrawn", "expired"
CLI, DEPLOY = "cli", "deploy"  # issued_by of the command and of deploy.prepare


def check(name: str, permissions: list[str], days: int) -> None:
    if not NAME.match(name):
        raise ValueError(f"name must be 1..50 letters, digits or ._- (starting with a letter or digit): {name!r}")
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown or not permissions:
        raise ValueError(f"permissions must be among {PERMISSIONS}: {unknown or permissions}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")


def sign(name: str, permissions: list[str], days: int) -> tuple[str, dict[str, Any]]:
    """A new token and its claims (not recorded: ``issue`` records it)."""
    check(name, permissions, days)
    principal = Principal(login_name=name, role=SERVICE, display_name=name,
                          permissions=frozenset(permissions))
    now = datetime.now(UTC).replace(microsecond=0)
    claims = {**principal.claims(), "aud": AUDIENCE, "iat": now, "exp": now + timedelta(days=days),
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM), claims


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(int(value), UTC)
    return moment.astimezone(UTC).replace(tzinfo=None)


def record(claims: dict[str, Any], issued_by: str) -> ServiceToken:
    """Add the issued token's row to the caller's transaction (once per id), with its audit record."""
    session = db.session()
    existing = session.get(ServiceToken, str(claims["jti"]))
    if existing is not None:
        return existing
    row = ServiceToken(id=str(claims["jti"]), name=claims["sub"], permissions=sorted(claims.get("perms") or []),
                       issued_at=_moment(claims["iat"]), expires_at=_moment(claims["exp"]),
                       issued_by=issued_by[:50])
    session.add(row)
    audit.record(session, AuditRecord, issued_by, "service_token_issue", row.name, detail=row.id,
                 after=view(row))
    return row


def issue(issued_by: str, name: str, permissions: list[str], days: int) -> tuple[str, ServiceToken]:
    """Sign, record and commit a new token; the token is returned once and kept nowhere."""
    token, claims = sign(name, permissions, days)
    row = record(claims, issued_by)
    db.session().commit()
    return token, row


def status(row: ServiceToken) -> str:
    if row.withdrawn_at is not None:
        return WITHDRAWN
    return EXPIRED if row.expires_at <= db.utcnow() else ACTIVE


def view(row: ServiceToken) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "permissions": list(row.permissions), "issued_at": row.issued_at,
            "expires_at": row.expires_at, "issued_by": row.issued_by, "withdrawn_at": row.withdrawn_at,
            "withdrawn_by": row.withdrawn_by, "status": status(row)}


def list_tokens() -> list[dict[str, Any]]:
    """Every recorded token, newest first (a few per downstream system: no paging needed)."""
    rows = db.session().scalars(select(ServiceToken).order_by(ServiceToken.issued_at.desc(), ServiceToken.id))
    return [view(row) for row in rows]


def find(token_id: str) -> ServiceToken | None:
    return db.session().get(ServiceToken, token_id)


def withdraw(actor: str, token_id: str) -> dict[str, Any]:
    """Withdraw one token: once (a conditional update; the second of two clicks is told), revoked here at
    once and, by event, in every service; audited in the same transaction."""
    session = db.session()
    row = session.get(ServiceToken, token_id)
    if row is None:
        raise BusinessError("服务令牌不存在", 404)
    if status(row) == EXPIRED:
        raise BusinessError("该服务令牌已过期，无需撤销", 409)
    before = view(row)
    now = db.utcnow()
    result = session.execute(
        update(ServiceToken).where(ServiceToken.id == token_id, ServiceToken.withdrawn_at.is_(None))
        .values(withdrawn_at=now, withdrawn_by=actor[:50]))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise BusinessError("该服务令牌已撤销", 409)
    session.refresh(row)
    # Kept by every service until the token's own expiry: after that its signature check refuses it.
    record_revocation(row.id, row.name, row.expires_at)
    audit.record(session, AuditRecord, actor, "service_token_withdraw", row.name, detail=row.id,
                 before=before, after=view(row))
    commit_and_relay(session)
    return view(row)
