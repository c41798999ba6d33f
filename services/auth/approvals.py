"""Dual control (待复核操作) of the two paths to an employer account: a password reset and a UKey issued
for or bound to it; and of the reset of a center account's second factor (a path to that account for
whoever also holds its password). One center account requests, a second, different account holding the same right
confirms, and only the confirmation acts; a request not decided within ``dual_control_hours`` expires.

Confirming is once-only: one conditional UPDATE of the request's status decides (SQLite ignores FOR
UPDATE), and the action runs in the same transaction, so ten confirmations at once act once. The
one-time password of a reset is made at the confirmation and is in the confirmer's answer only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from hall_common import db
from hall_common.access import NO_RIGHT
from hall_common.errors import BusinessError
from hall_common.security import Principal
from hall_common.settings import get_settings

from . import accounts, second_factor, ukeys
from .accounts import audit, get_operator
from .models import (
    BIND_UKEY,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    ISSUE_UKEY,
    REJECTED,
    REQUESTED,
    RESET_PASSWORD,
    RESET_TOTP,
    PendingApproval,
    UKey,
)

# The center permission a kind of request needs, from the requester and from the confirmer alike.
RIGHTS = {RESET_PASSWORD: "account_admin", ISSUE_UKEY: "ukey_admin", BIND_UKEY: "ukey_admin",
          RESET_TOTP: "account_admin"}
TITLES = {RESET_PASSWORD: "重置密码", ISSUE_UKEY: "签发UKey", BIND_UKEY: "绑定UKey", RESET_TOTP: "重置动态口令"}
REQUESTED_MESSAGE = "已提交，待另一名管理员复核"
OWN_REQUEST = "不能复核本人提交的申请，须由另一名管理员复核"
STATE_MESSAGES = {
    CONFIRMED: "该申请已由 {decided_by} 复核，不能重复处理",
    REJECTED: "该申请已被 {decided_by} 驳回",
    CANCELLED: "该申请已由 {decided_by} 撤销",
    EXPIRED: "该申请已过期，请重新申请",
}


def enabled() -> bool:
    return get_settings().dual_control


# -- requests -------------------------------------------------------------------------------------

def _request(actor: str, kind: str, target: str, payload: dict[str, Any], detail: str) -> PendingApproval:
    now = db.utcnow()
    row = PendingApproval(kind=kind, target=target, payload=payload, requested_by=actor, requested_at=now,
                          expires_at=now + timedelta(hours=get_settings().dual_control_hours), status=REQUESTED)
    session = db.session()
    session.add(row)
    session.flush()
    audit(actor, f"request_{kind}", target, f"申请{TITLES[kind]}：{detail}，待另一名管理员复核",
          after={"approval_id": row.id, "status": REQUESTED, "requested_by": actor})
    session.commit()
    return row


def _open(kind: str, target: str) -> list[PendingApproval]:
    query = select(PendingApproval).where(PendingApproval.kind == kind, PendingApproval.target == target,
                                          PendingApproval.status == REQUESTED,
                                          PendingApproval.expires_at > db.utcnow())
    return list(db.session().scalars(query))


def request_reset(actor: str, login_name: str) -> PendingApproval:
    get_operator(login_name)
    if _open(RESET_PASSWORD, login_name):
        raise BusinessError(f"{login_name} 已有待复核的重置密码申请", 409)
    return _request(actor, RESET_PASSWORD, login_name, {"login_name": login_name}, login_name)


def request_totp_reset(actor: str, login_name: str) -> PendingApproval:
    second_factor.check_reset(actor, login_name)
    if _open(RESET_TOTP, login_name):
        raise BusinessError(f"{login_name} 已有待复核的重置动态口令申请", 409)
    return _request(actor, RESET_TOTP, login_name, {"login_name": login_name}, login_name)


def request_issue(actor: str, token_serial: str, token_label: str, public_key_pem: str,
                  login_names: list[str]) -> PendingApproval:
    """The key pair was just generated on the token: an earlier open request for the same token holds a
    public key the token no longer has, so it is withdrawn (its certificate could never be used)."""
    ukeys.check_issue(public_key_pem, login_names)
    names = sorted(set(login_names))
    session = db.session()
    for stale in _open(ISSUE_UKEY, token_serial):
        session.execute(update(PendingApproval).where(PendingApproval.id == stale.id,
                                                      PendingApproval.status == REQUESTED)
                        .values(status=CANCELLED, decided_by=actor, decided_at=db.utcnow()))
        audit(actor, "cancel_approval", token_serial, f"UKey重新生成密钥，原签发申请 {stale.id} 作废",
              before={"approval_id": stale.id, "status": REQUESTED},
              after={"approval_id": stale.id, "status": CANCELLED})
    payload = {"token_serial": token_serial, "token_label": token_label, "public_key": public_key_pem,
               "login_names": names}
    return _request(actor, ISSUE_UKEY, token_serial, payload, f"UKey {token_serial}，绑定 {'、'.join(names)}")


def request_bind(actor: str, ukey_id: int, login_name: str) -> PendingApproval:
    ukey = ukeys.check_binding(ukey_id, login_name)
    if any(row.payload.get("login_name") == login_name for row in _open(BIND_UKEY, ukey.token_serial)
           if row.payload.get("ukey_id") == ukey_id):
        raise BusinessError(f"UKey {ukey.token_serial} 绑定 {login_name} 已在待复核中", 409)
    payload = {"ukey_id": ukey_id, "token_serial": ukey.token_serial, "login_name": login_name}
    return _request(actor, BIND_UKEY, ukey.token_serial, payload, f"UKey {ukey.token_serial} 绑定 {login_name}")


# -- decisions ------------------------------------------------------------------------------------

def _get(approval_id: int, caller: Principal) -> PendingApproval:
    row = db.session().get(PendingApproval, approval_id)
    if row is None:
        raise BusinessError("待复核申请不存在", 404)
    if RIGHTS[row.kind] not in caller.permissions:
        raise BusinessError(NO_RIGHT, 403)
    return row


def _refusal(approval_id: int) -> BusinessError:
    """Why a decision found the request no longer open (another decision won, or it expired)."""
    session = db.session()
    session.rollback()
    row = session.get(PendingApproval, approval_id)
    assert row is not None
    status = status_of(row)
    return BusinessError(STATE_MESSAGES[status].format(decided_by=row.decided_by or ""), 409)


def confirm(caller: Principal, approval_id: int) -> dict[str, Any]:
    """Confirm and act, once: of concurrent confirmations one acts, the others answer 409."""
    row = _get(approval_id, caller)
    if row.requested_by == caller.login_name:
        raise BusinessError(OWN_REQUEST, 403)
    session = db.session()
    now = db.utcnow()
    decided = session.execute(
        update(PendingApproval)
        .where(PendingApproval.id == approval_id, PendingApproval.status == REQUESTED,
               PendingApproval.expires_at > now, PendingApproval.requested_by != caller.login_name)
        .values(status=CONFIRMED, decided_by=caller.login_name, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise _refusal(approval_id)
    try:
        answer = _act(row, caller.login_name)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(row)
    return {**answer, "approval": view(row, caller)}


def _act(row: PendingApproval, actor: str) -> dict[str, Any]:
    """The requested action, by the confirming account, in the confirmation's transaction."""
    payload, requested_by = row.payload, row.requested_by
    if row.kind == RESET_PASSWORD:
        one_time = accounts.apply_reset(actor, row.target, requested_by=requested_by)
        return {"message": "已复核，密码已重置，请将一次性密码交给单位经办人", "one_time_password": one_time}
    if row.kind == RESET_TOTP:
        second_factor.apply_reset(actor, row.target, requested_by=requested_by)
        return {"message": f"已复核，{row.target} 的动态口令已重置，该账号下次登录时重新绑定"}
    if row.kind == ISSUE_UKEY:
        ukey = ukeys.certify(actor, payload["token_serial"], payload["token_label"], payload["public_key"],
                             payload["login_names"], requested_by=requested_by)
        _set_outcome(row, {"ukey_id": ukey.id, "certificate_serial": ukey.certificate_serial})
        return {"message": "已复核，UKey证书已签发，请在插有该UKey的电脑上写入UKey"}
    ukeys.add_binding(actor, payload["ukey_id"], payload["login_name"], requested_by=requested_by)
    return {"message": "已复核，绑定成功"}


def _set_outcome(row: PendingApproval, outcome: dict[str, Any]) -> None:
    db.session().execute(update(PendingApproval).where(PendingApproval.id == row.id).values(outcome=outcome)
                         .execution_options(synchronize_session=False))


def reject(caller: Principal, approval_id: int) -> str:
    """驳回 by another account holding the right, or 撤销 by the requester itself; once, like confirming."""
    row = _get(approval_id, caller)
    own = row.requested_by == caller.login_name
    status = CANCELLED if own else REJECTED
    session = db.session()
    now = db.utcnow()
    decided = session.execute(
        update(PendingApproval)
        .where(PendingApproval.id == approval_id, PendingApproval.status == REQUESTED, PendingApproval.expires_at > now)
        .values(status=status, decided_by=caller.login_name, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise _refusal(approval_id)
    audit(caller.login_name, "cancel_approval" if own else "reject_approval", row.target,
          f"{TITLES[row.kind]}申请 {row.id}（{row.requested_by} 申请）{'已撤销' if own else '已驳回'}",
          before={"approval_id": row.id, "status": REQUESTED, "requested_by": row.requested_by},
          after={"approval_id": row.id, "status": status, "requested_by": row.requested_by,
                 "decided_by": caller.login_name})
    session.commit()
    return "已撤销申请" if own else "已驳回该申请"


def expire_old() -> None:
    """Housekeeping: requests past their time are marked so (each decision checks the time anyway)."""
    db.session().execute(update(PendingApproval).where(PendingApproval.status == REQUESTED,
                                                       PendingApproval.expires_at <= db.utcnow())
                         .values(status=EXPIRED).execution_options(synchronize_session=False))


# -- what the console shows ----------------------------------------------------------------------

def status_of(row: PendingApproval, now: datetime | None = None) -> str:
    if row.status == REQUESTED and row.expires_at <= (now or db.utcnow()):
        return EXPIRED
    return row.status


def listing(caller: Principal) -> list[dict[str, Any]]:
    """The open requests of the kinds the caller may decide, and those decided or expired within the
    last ``dual_control_hours`` (so the requester sees the outcome and can write an issued certificate)."""
    kinds = [kind for kind, right in RIGHTS.items() if right in caller.permissions]
    window = timedelta(hours=get_settings().dual_control_hours)
    since = db.utcnow() - window
    # A request is decided or expires within the window after it was made: older ones need no look.
    query = (select(PendingApproval)
             .where(PendingApproval.kind.in_(kinds), PendingApproval.requested_at >= since - window)
             .order_by(PendingApproval.id.desc()).limit(100))
    rows = [r for r in db.session().scalars(query)
            if status_of(r) == REQUESTED or (r.decided_at or r.expires_at) >= since]
    return [view(row, caller) for row in rows]


def view(row: PendingApproval, caller: Principal) -> dict[str, Any]:
    payload, status = row.payload, status_of(row)
    login_names = payload.get("login_names") or [payload.get("login_name") or row.target]
    certificate = None
    if row.kind == ISSUE_UKEY and row.outcome:
        ukey = db.session().get(UKey, row.outcome["ukey_id"])
        certificate = ukey.certificate_pem if ukey is not None else None
    return {
        "id": row.id, "kind": row.kind, "title": TITLES[row.kind], "target": row.target,
        "token_serial": payload.get("token_serial"), "login_names": login_names,
        "requested_by": row.requested_by, "requested_at": row.requested_at, "expires_at": row.expires_at,
        "status": status, "decided_by": row.decided_by, "decided_at": row.decided_at,
        "mine": row.requested_by == caller.login_name,
        "can_confirm": status == REQUESTED and row.requested_by != caller.login_name,
        "ukey_id": (row.outcome or {}).get("ukey_id") or payload.get("ukey_id"),
        "certificate_pem": certificate,
    }
