"""Center rights: the named center permissions an account holds, granted to it directly or through a
center role (a named set of permissions). A token carries the union; a change of either ends the
affected accounts' sessions in the same transaction, so the next token carries the new rights.

Every change writes an audit record with the state before and after. An account cannot take the
right to manage rights from itself (directly, or by editing or leaving a role it holds it through):
the hall would be left with nobody who can grant it back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay
from hall_common.permissions import CENTER_PERMISSIONS

from . import sessions
from .accounts import audit, get_operator
from .grants import effective, role_permissions, roles_of
from .models import CENTER, CenterRole, CenterRoleMember, GroupMember, Operator

MANAGE = "center_rights"
SELF_LOCKOUT = "不能移除本人的中心权限管理权限"


def _known(permissions: list[str]) -> list[str]:
    unknown = [p for p in permissions if p not in CENTER_PERMISSIONS]
    if unknown:
        message = f"不存在的中心权限：{'、'.join(unknown)}"
        raise BusinessError(message, 422, {"json": {"permissions": [message]}})
    return [p for p in CENTER_PERMISSIONS if p in permissions]  # the catalogue's order, no repeats


def center_accounts() -> list[dict[str, Any]]:
    session = db.session()
    operators = list(session.scalars(select(Operator).where(Operator.role == CENTER).order_by(Operator.login_name)))
    names = [o.login_name for o in operators]
    groups: dict[str, list[str]] = {}
    for member in session.scalars(select(GroupMember).order_by(GroupMember.group_code)):
        groups.setdefault(member.login_name, []).append(member.group_code)
    roles, granted = roles_of(names), role_permissions()
    views = []
    for o in operators:
        held = set(o.permissions or ())
        for code in roles[o.login_name]:
            held.update(granted.get(code, ()))
        views.append({"login_name": o.login_name, "display_name": o.display_name,
                      "groups": groups.get(o.login_name, []), "roles": roles[o.login_name],
                      "permissions": _known(list(o.permissions or [])), "effective": _known(sorted(held))})
    return views


def _center_operator(login_name: str) -> Operator:
    operator = get_operator(login_name)
    if operator.role != CENTER:
        raise BusinessError("只能为中心账号分配中心权限", 422)
    return operator


def set_account_permissions(actor: str, login_name: str, permissions: list[str]) -> dict[str, Any]:
    chosen = _known(permissions)
    operator = _center_operator(login_name)
    before = _known(list(operator.permissions or []))
    if before != chosen:
        operator.permissions = chosen
        db.session().flush()
        if login_name == actor and MANAGE not in effective(operator):
            db.session().rollback()
            raise BusinessError(SELF_LOCKOUT, 409)
        audit(actor, "center_permissions", login_name, "、".join(CENTER_PERMISSIONS[p] for p in chosen) or "无",
              before={"permissions": before}, after={"permissions": chosen})
        sessions.revoke_account_sessions(login_name, "permissions_changed")
    return next(a for a in center_accounts() if a["login_name"] == login_name)


def list_roles() -> list[dict[str, Any]]:
    session = db.session()
    roles = list(session.scalars(select(CenterRole).order_by(CenterRole.created_at, CenterRole.code)))
    members: dict[str, list[str]] = {r.code: [] for r in roles}
    for member in session.scalars(select(CenterRoleMember).order_by(CenterRoleMember.login_name)):
        members.setdefault(member.role_code, []).append(member.login_name)
    return [_role_view(r, members[r.code]) for r in roles]


def _role_view(role: CenterRole, members: list[str]) -> dict[str, Any]:
    return {"code": role.code, "name": role.name, "permissions": _known(list(role.permissions or [])),
            "members": members}


def _get_role(code: str) -> CenterRole:
    role = db.session().get(CenterRole, code)
    if role is None:
        raise BusinessError(f"中心角色 {code} 不存在", 404)
    return role


def _members(code: str) -> list[str]:
    return sorted(db.session().scalars(select(CenterRoleMember.login_name).where(CenterRoleMember.role_code == code)))


def _commit(code: str, name: str) -> None:
    """A concurrent create or rename with the same code or name: the unique keys decide."""
    try:
        commit_and_relay(db.session())
    except IntegrityError as exc:
        db.session().rollback()
        raise BusinessError(f"中心角色编码 {code} 或名称「{name}」已存在，或已被他人修改，请刷新后重试", 409) from exc


def create_role(actor: str, code: str, name: str, permissions: list[str]) -> dict[str, Any]:
    session = db.session()
    chosen = _known(permissions)
    if session.get(CenterRole, code) is not None or session.scalar(select(CenterRole).where(CenterRole.name == name)):
        raise BusinessError(f"中心角色编码 {code} 或名称「{name}」已存在", 409)
    role = CenterRole(code=code, name=name, permissions=chosen, created_at=db.utcnow())
    session.add(role)
    audit(actor, "role_create", code, f"新建中心角色「{name}」",
          after={"code": code, "name": name, "permissions": chosen, "members": []})
    _commit(code, name)
    return _role_view(role, [])


def _self_kept(actor: str) -> None:
    """Refuse (and undo) a change that would leave the acting account without the right to manage rights;
    a concurrent change that the unique keys refuse (the same member added twice, a name taken) is a 409."""
    try:
        db.session().flush()
    except IntegrityError as exc:
        db.session().rollback()
        raise BusinessError("中心角色已被他人修改或名称已存在，请刷新后重试", 409) from exc
    if MANAGE not in effective(get_operator(actor)):
        db.session().rollback()
        raise BusinessError(SELF_LOCKOUT, 409)


def update_role(actor: str, code: str, name: str, permissions: list[str]) -> dict[str, Any]:
    role = _get_role(code)
    chosen = _known(permissions)
    before = {"code": code, "name": role.name, "permissions": _known(list(role.permissions or []))}
    after = {"code": code, "name": name, "permissions": chosen}
    if before != after:
        role.name, role.permissions = name, chosen
        _self_kept(actor)
        audit(actor, "role_update", code, f"修改中心角色「{name}」", before=before, after=after)
        if before["permissions"] != chosen:
            sessions.revoke_accounts_sessions(_members(code), "permissions_changed")
        _commit(code, name)
    return _role_view(role, _members(code))


def set_role_members(actor: str, code: str, login_names: list[str]) -> dict[str, Any]:
    role = _get_role(code)
    session = db.session()
    wanted = sorted(set(login_names))
    centers = set(session.scalars(
        select(Operator.login_name).where(Operator.login_name.in_(wanted), Operator.role == CENTER)))
    unknown = [n for n in dict.fromkeys(login_names) if n not in centers]
    if unknown:
        message = f"中心账号 {'、'.join(unknown)} 不存在"
        raise BusinessError(message, 422, {"json": {"members": [message]}})
    before = _members(code)
    if before != wanted:
        session.execute(delete(CenterRoleMember).where(CenterRoleMember.role_code == code,
                                                       CenterRoleMember.login_name.not_in(wanted)))
        for login_name in sorted(set(wanted) - set(before)):
            session.add(CenterRoleMember(role_code=code, login_name=login_name))
        _self_kept(actor)
        audit(actor, "role_members", code, f"设置中心角色「{role.name}」成员",
              before={"code": code, "members": before}, after={"code": code, "members": wanted})
        sessions.revoke_accounts_sessions(sorted(set(before) ^ set(wanted)), "permissions_changed")
    return _role_view(role, _members(code))


def delete_role(actor: str, code: str) -> None:
    role = _get_role(code)
    members = _members(code)
    if members:
        raise BusinessError(f"中心角色「{role.name}」还有{len(members)}名成员，请先移除成员再删除", 409)
    still_empty = ~select(CenterRoleMember.login_name).where(CenterRoleMember.role_code == code).exists()
    deleted = db.session().execute(delete(CenterRole).where(CenterRole.code == code, still_empty))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        db.session().rollback()
        raise BusinessError(f"中心角色「{role.name}」已有新成员或已被删除，请刷新后重试", 409)
    audit(actor, "role_delete", code, f"删除中心角色「{role.name}」",
          before={"code": code, "name": role.name, "permissions": list(role.permissions or [])})
    db.session().commit()
