"""Sessions that end when they should, and login steps that cannot be replayed.

- Every login step (password change, employer selection) is a signed ticket whose id is stored; it is
  consumed by a conditional UPDATE, so a second use finds no row to update and is refused.
- A session is a row here. Its access tokens live minutes (``sid`` claim) and are renewed by the
  gateway with the refresh token. Revoking the row stops renewals at once, whatever happens to Redis;
  the ``auth.session_revoked`` event is the fast path that makes every service refuse the live access
  token before its short expiry.
- A center reset's one-time password serves one login, within a limited time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import delete, select, update

from hall_common import audit as audit_trail
from hall_common import changes, db, live
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.runtime import get_runtime
from hall_common.security import ALGORITHM, AUDIENCE, Principal, amr_of
from hall_common.settings import get_settings

from . import closures, grants
from .keys import private_key_pem, public_key_pem
from .models import CENTER, EMPLOYER, AuditRecord, GroupMember, HallSession, LoginTicket, Operator

TICKET_AUDIENCE = "employer-hall-login"
STEP_GONE = "该登录步骤已完成或已超时，请重新登录"
SESSION_GONE = "登录已失效，请重新登录"
REFRESH_REUSED = "登录凭据已在别处使用，为保护账户安全已退出，请重新登录"
# Tokens of a session may still be in flight for this long after its revocation: the revoked id is
# kept at least the access lifetime plus this margin.
REVOKE_MARGIN = timedelta(seconds=60)


# -- login steps -----------------------------------------------------------------------------------

def issue_ticket(login_name: str, ukey_id: int | None, stage: str, *, webauthn_key: int | None = None,
                 binds: str | None = None) -> str:
    """A login step's ticket, naming the second factor that passed: the UKey, or the security key.
    ``binds``: the digest of what the next step must still find (the secret a TOTP enrolment shows)."""
    now = db.utcnow()
    expires = now + timedelta(seconds=get_settings().login_ticket_seconds)
    ticket_id = str(uuid.uuid4())
    session = db.session()
    session.add(LoginTicket(id=ticket_id, login_name=login_name, stage=stage, expires_at=expires))
    session.commit()
    claims = {"sub": login_name, "ukey": ukey_id, "stage": stage, "aud": TICKET_AUDIENCE, "jti": ticket_id,
              "iat": now.replace(tzinfo=UTC), "exp": expires.replace(tzinfo=UTC)}
    if webauthn_key is not None:
        claims["wak"] = webauthn_key
    if binds is not None:
        claims["binds"] = binds
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM)


def consume_ticket(ticket: str, stage: str, wrong_stage: str) -> dict[str, Any]:
    """Take the ticket for this step. The UPDATE is the first statement of the transaction and is
    committed with the step's own changes, so a refused step (a bad new password) leaves it usable."""
    try:
        claims: dict[str, Any] = jwt.decode(ticket, public_key_pem(), algorithms=[ALGORITHM],
                                            audience=TICKET_AUDIENCE)
    except jwt.InvalidTokenError as exc:
        raise BusinessError("登录已超时，请重新登录", 401) from exc
    if claims.get("stage") != stage:
        raise BusinessError(wrong_stage, 403)
    now = db.utcnow()
    result = db.session().execute(
        update(LoginTicket)
        .where(LoginTicket.id == str(claims.get("jti", "")), LoginTicket.stage == stage,
               LoginTicket.used_at.is_(None), LoginTicket.expires_at > now)
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session().rollback()
        raise BusinessError(STEP_GONE, 401)
    return claims


def mark_password_changed(operator: Operator) -> None:
    """The forced change happens once: only while it is still due (a conditional update)."""
    result = db.session().execute(
        update(Operator)
        .where(Operator.id == operator.id, Operator.must_change_password.is_(True))
        .values(must_change_password=False, one_time_password_until=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session().rollback()
        raise BusinessError(STEP_GONE, 401)


def one_time_password_issued(operator: Operator) -> None:
    """The center has just set a one-time password: it serves one login within the configured time."""
    operator.one_time_password_until = db.utcnow() + timedelta(hours=get_settings().one_time_password_hours)


def take_one_time_password(operator: Operator) -> None:
    """A login with a one-time password spends it (a conditional update: two logins cannot both)."""
    if operator.one_time_password_until is None:
        return
    now = db.utcnow()
    result = db.session().execute(
        update(Operator)
        .where(Operator.id == operator.id, Operator.one_time_password_until > now)
        .values(one_time_password_until=now)
    )
    db.session().commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise BusinessError("一次性密码已使用或已过期，请联系中心重新重置密码", 401)


# -- sessions --------------------------------------------------------------------------------------

def _digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()


def issue_token(principal: Principal, session_id: str | None = None) -> tuple[str, int]:
    """An access token and its expiry (epoch seconds)."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=get_settings().access_token_seconds)
    claims: dict[str, Any] = {**principal.claims(), "aud": AUDIENCE, "iat": now, "exp": expires,
                              "jti": str(uuid.uuid4())}
    if session_id:
        claims["sid"] = session_id
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM), int(expires.timestamp())


def principal_of(operator: Operator, factor: str | None = None) -> Principal:
    """The token's claims as the account stands now (a renewal picks up changed permissions and groups);
    ``factor``: the session's login factor, carried as ``amr``."""
    groups: frozenset[str] = frozenset()
    permissions = frozenset(operator.permissions or ())
    if operator.role == EMPLOYER and closures.is_closed(operator.employer_no):
        permissions &= closures.QUERY_PERMISSIONS
    if operator.role == CENTER:
        groups = frozenset(db.session().scalars(
            select(GroupMember.group_code).where(GroupMember.login_name == operator.login_name)))
        permissions = grants.effective(operator)
    return Principal(
        login_name=operator.login_name, role=operator.role, display_name=operator.display_name,
        employer_no=operator.employer_no, employer_name=operator.employer_name,
        permissions=permissions, groups=groups, amr=amr_of(factor) if factor else (),
    )


def open_session(operator: Operator, *, factor: str) -> dict[str, Any]:
    """A session for a login that passed every step; ``factor`` names how (hall_common.security.FACTOR_AMR)."""
    amr_of(factor)  # an unknown factor is a programming error, refused before anything is stored
    settings = get_settings()
    session_id = str(uuid.uuid4())
    refresh_token = _refresh_token(session_id, 1)
    now = db.utcnow()
    row = HallSession(
        id=session_id, login_name=operator.login_name, role=operator.role,
        employer_no=operator.employer_no, refresh_hash=_digest(refresh_token), refresh_generation=1,
        created_at=now, last_activity_at=now,
        expires_at=now + timedelta(seconds=settings.session_absolute_seconds), factor=factor,
    )
    session = db.session()
    session.add(row)
    session.commit()
    principal = principal_of(operator, factor)
    token, expires_at = issue_token(principal, row.id)
    return {"token": token, "refresh_token": refresh_token, "expires_at": expires_at,
            "principal": principal.claims(), "sound_enabled": operator.sound_enabled,
            "closed": operator.role == EMPLOYER and closures.is_closed(operator.employer_no),
            "large_text": operator.large_text,
            "idle_seconds": settings.session_idle_seconds}


def refresh(refresh_token: str) -> dict[str, Any]:
    """A new access token for a live session, with the account's current permissions, and the next
    refresh token: each renewal rotates it (the conditional UPDATE on the presented token's hash lets
    one of two simultaneous renewals rotate; the other finds the token replaced)."""
    session = db.session()
    row = session.scalar(select(HallSession).where(HallSession.refresh_hash == _digest(refresh_token)))
    if row is None:
        return _renew_replaced(refresh_token)
    now = db.utcnow()
    operator = _renewable(row, now)
    generation = row.refresh_generation + 1
    next_token = _refresh_token(row.id, generation)
    result = session.execute(
        update(HallSession).where(HallSession.id == row.id, HallSession.revoked_at.is_(None),
                                  HallSession.refresh_hash == _digest(refresh_token))
        .values(last_activity_at=now, refresh_hash=_digest(next_token), refresh_generation=generation,
                refreshed_at=now)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]  # revoked, or rotated by a simultaneous renewal
        return _renew_replaced(refresh_token)
    return _renewal(operator, row, next_token)


def _renew_replaced(refresh_token: str) -> dict[str, Any]:
    """A refresh token that is not its session's current one. The one just replaced, within the grace
    time, is the same browser's request sent before the new token reached it: it gets the current
    token, no new generation. Any other of the session's tokens is a copy someone kept: the session
    ends, audited. Unknown tokens (forged, or of a session gone) are simply refused."""
    found = _parse_refresh_token(refresh_token)
    session = db.session()
    row = session.get(HallSession, found[0], populate_existing=True) if found else None
    if found is None or row is None or row.revoked_at is not None or found[1] >= row.refresh_generation:
        raise BusinessError(SESSION_GONE, 401)
    now = db.utcnow()
    grace = timedelta(seconds=get_settings().refresh_reuse_grace_seconds)
    if found[1] == row.refresh_generation - 1 and row.refreshed_at is not None and now - row.refreshed_at <= grace:
        return _renewal(_renewable(row, now), row, _refresh_token(row.id, row.refresh_generation))
    audit_trail.record(session, AuditRecord, row.login_name, "refresh_token_reused", row.id,
                       detail=f"已轮换的刷新令牌（第{found[1]}代，当前第{row.refresh_generation}代）被再次使用，会话已结束")
    revoke(row.id, "refresh_reused")  # commits the audit record with the revocation
    raise BusinessError(REFRESH_REUSED, 401)


def _renewable(row: HallSession, now: datetime) -> Operator:
    """The session's account, if the session may still be renewed (ends it past its limits)."""
    settings = get_settings()
    if row.revoked_at is not None:
        raise BusinessError(SESSION_GONE, 401)
    if now >= row.expires_at:
        revoke(row.id, "expired")
        raise BusinessError("登录时间已达上限，请重新登录", 401)
    # The gateway enforces the idle limit exactly; renewals come at least every access lifetime.
    idle_limit = timedelta(seconds=settings.session_idle_seconds + settings.access_token_seconds)
    if now - row.last_activity_at > idle_limit:
        revoke(row.id, "idle")
        raise BusinessError("长时间未操作，已自动退出，请重新登录", 401)
    operator = db.session().scalar(select(Operator).where(Operator.login_name == row.login_name))
    if operator is None:
        raise BusinessError(SESSION_GONE, 401)
    if operator.role == CENTER and settings.center_second_factor and row.factor != "totp":
        # Opened by the password alone (before the setting was on, or before the factor was recorded): the
        # second factor is asked for now, not when the session would have ended by itself.
        revoke(row.id, "second_factor_required")
        raise BusinessError("请重新登录并输入动态口令", 401)
    return operator


def _renewal(operator: Operator, row: HallSession, refresh_token: str) -> dict[str, Any]:
    principal = principal_of(operator, row.factor)
    token, expires_at = issue_token(principal, row.id)
    return {"token": token, "expires_at": expires_at, "principal": principal.claims(), "refresh_token": refresh_token}


def _refresh_key() -> bytes:
    # Derived from the signing key, so nothing else to provision; a new signing key ends every session.
    return hashlib.sha256(b"hall-refresh-token\0" + private_key_pem()).digest()


def _refresh_token(session_id: str, generation: int) -> str:
    """The session's refresh token of a generation: derived (HMAC), so a renewal answered again within
    the grace time hands out the same current token without the database keeping tokens."""
    body = f"{session_id}.{generation}"
    mac = hmac.new(_refresh_key(), body.encode(), hashlib.sha256).digest()
    return body + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _parse_refresh_token(token: str) -> tuple[str, int] | None:
    """(session id, generation) of a refresh token this service made; None for anything else (a
    session opened before rotation holds a random token: found by its hash, never parsed)."""
    session_id, _, rest = token.partition(".")
    generation, _, _mac = rest.partition(".")
    if not generation.isascii() or not generation.isdigit() or len(generation) > 9:  # not "١" (Arabic-Indic)
        return None
    if not hmac.compare_digest(token.encode(), _refresh_token(session_id, int(generation)).encode()):
        return None
    return session_id, int(generation)


def record_revocation(token_id: str, login_name: str, until: datetime) -> None:
    """Refuse the id (a session's or a single token's) here at once (this service cannot wait for
    Redis) and tell every service, which keeps it until ``until``. Part of the caller's transaction."""
    session = db.session()
    model = get_runtime().plumbing.revoked
    if session.get(model, token_id) is None:
        session.add(model(token_id=token_id, expires_at=until))
    emit(session, "auth.session_revoked",
         {"token_id": token_id, "login_name": login_name, "expires_at": until.isoformat()})


def _revoked_event(session_id: str, login_name: str, until: datetime) -> None:
    record_revocation(session_id, login_name, until)
    # The gateway's own check (it may answer a page from its cache without a service): once committed,
    # kept as long as any cookie of the session could still be valid.
    changes.announce(db.session(), live.REVOKED_CHANNEL, session_id,
                     keep=(live.revoked_key(session_id), get_settings().session_absolute_seconds))


def revoke(session_id: str, reason: str) -> bool:
    """End one session: no renewal from now on; returns False if it had already ended."""
    session = db.session()
    now = db.utcnow()
    result = session.execute(
        update(HallSession).where(HallSession.id == session_id, HallSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    row = session.get(HallSession, session_id)
    if result.rowcount == 1 and row is not None:  # type: ignore[attr-defined]
        _revoked_event(session_id, row.login_name, now + timedelta(seconds=get_settings().access_token_seconds)
                       + REVOKE_MARGIN)
    commit_and_relay(session)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def logout(principal: Principal) -> None:
    """Logout of an employer or of center staff. A token without a session (issued by tests or an
    older auth service) is revoked by its own id until it expires."""
    if principal.session_id:
        revoke(principal.session_id, "logout")
        return
    session = db.session()
    _revoked_event(principal.token_id, principal.login_name,
                   datetime.fromtimestamp(principal.expires_at, UTC).replace(tzinfo=None))
    commit_and_relay(session)


def revoke_account_sessions(login_name: str, reason: str) -> int:
    """The account's rights changed (permissions, UKey unbound): end its live sessions everywhere.
    Commits the caller's pending changes with the revocation. Returns how many sessions ended."""
    return revoke_accounts_sessions([login_name], reason)


def revoke_accounts_sessions(login_names: list[str], reason: str) -> int:
    """The same for several accounts at once (a group's members changed), in one transaction with the
    caller's pending changes: the change and the end of the sessions it affects commit together."""
    ended = end_sessions(login_names, reason)
    commit_and_relay(db.session())
    return ended


def end_sessions(login_names: list[str], reason: str) -> int:
    """Revoke the accounts' live sessions in the caller's transaction (an event handler's: the consumer
    commits it with the event's receipt), each announced by ``auth.session_revoked``."""
    return _end_live(HallSession.login_name.in_(sorted(set(login_names))), reason)


def end_sessions_by_id(session_ids: list[str], reason: str) -> int:
    """Revoke these sessions, those still live, in the caller's transaction (as ``end_sessions``)."""
    return _end_live(HallSession.id.in_(sorted(set(session_ids))), reason) if session_ids else 0


def _end_live(which: Any, reason: str) -> int:
    session = db.session()
    now = db.utcnow()
    until = now + timedelta(seconds=get_settings().access_token_seconds) + REVOKE_MARGIN
    ended = 0
    live = session.execute(select(HallSession.id, HallSession.login_name).where(
        which, HallSession.revoked_at.is_(None), HallSession.expires_at > now).order_by(HallSession.id)).all()
    for session_id, login_name in live:
        result = session.execute(
            update(HallSession).where(HallSession.id == session_id, HallSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            _revoked_event(session_id, login_name, until)
            ended += 1
    return ended


def forget_old() -> None:
    """Housekeeping: spent or expired login tickets, and sessions past their absolute lifetime."""
    session = db.session()
    now = db.utcnow()
    session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
    session.execute(delete(HallSession).where(HallSession.expires_at < now - timedelta(days=1)))
