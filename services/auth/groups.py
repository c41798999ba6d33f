"""Center groups (经办, 复核, 负责人 ...) and their members: the candidate groups of approval tasks.

A center account's groups travel in its tokens (``grp``), so a membership change ends the sessions of
every account it adds or removes (in the same transaction): their next token carries the new groups.
Every change writes an audit record with the state before and after.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import request
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from hall_common import db
from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError

from . import sessions
from .accounts import audit
from .models import CENTER, Group, GroupMember, Operator


def _members_of(codes: list[str]) -> dict[str, list[Operator]]:
    query = (
        select(GroupMember.group_code, Operator)
        .join(Operator, Operator.login_name == GroupMember.login_name)
        .where(GroupMember.group_code.in_(codes))
        .order_by(Operator.login_name)
    )
    members: dict[str, list[Operator]] = {code: [] for code in codes}
    for code, operator in db.session().execute(query):
        members[code].append(operator)
    return members


def list_groups() -> list[dict[str, Any]]:
    groups = list(db.session().scalars(select(Group).order_by(Group.created_at, Group.code)))
    members = _members_of([g.code for g in groups])
    return [_view(g, members[g.code]) for g in groups]


def _view(group: Group, members: list[Operator]) -> dict[str, Any]:
    return {"code": group.code, "name": group.name,
            "members": [{"login_name": m.login_name, "display_name": m.display_name} for m in members]}


def get_group(code: str) -> Group:
    group = db.session().get(Group, code)
    if group is None:
        raise BusinessError(f"用户组 {code} 不存在", 404)
    return group


def _name_taken(name: str, code: str | None = None) -> None:
    query = select(Group.code).where(Group.name == name)
    if code is not None:
        query = query.where(Group.code != code)
    if db.session().scalar(query) is not None:
        raise BusinessError(f"用户组名称「{name}」已存在", 409, {"json": {"name": [f"用户组名称「{name}」已存在"]}})


def create_group(actor: str, code: str, name: str) -> dict[str, Any]:
    session = db.session()
    if session.get(Group, code) is not None:
        raise BusinessError(f"用户组编码 {code} 已存在", 409, {"json": {"code": [f"用户组编码 {code} 已存在"]}})
    _name_taken(name)
    group = Group(code=code, name=name, created_at=db.utcnow())
    session.add(group)
    audit(actor, "group_create", code, f"新建用户组「{name}」", after={"code": code, "name": name, "members": []})
    _commit_unique(code, name)
    return _view(group, [])


def _commit_unique(code: str, name: str) -> None:
    """A concurrent create or rename with the same code or name: the database's unique keys decide."""
    try:
        db.session().commit()
    except IntegrityError as exc:
        db.session().rollback()
        raise BusinessError(f"用户组编码 {code} 或名称「{name}」已存在", 409) from exc


def rename_group(actor: str, code: str, name: str) -> dict[str, Any]:
    group = get_group(code)
    before = group.name
    if before != name:
        _name_taken(name, code)
        group.name = name
        audit(actor, "group_rename", code, f"用户组「{before}」改名为「{name}」",
              before={"code": code, "name": before}, after={"code": code, "name": name})
        _commit_unique(code, name)
    return _view(group, _members_of([code])[code])


def set_members(actor: str, code: str, login_names: list[str]) -> dict[str, Any]:
    """Replace the group's members; refuses an unknown or non-center account, naming it."""
    group = get_group(code)
    session = db.session()
    wanted = list(dict.fromkeys(login_names))  # the order given, without repeats
    centers = set(session.scalars(
        select(Operator.login_name).where(Operator.login_name.in_(wanted), Operator.role == CENTER)))
    errors = {str(i): [f"中心账号 {name} 不存在"] for i, name in enumerate(login_names) if name not in centers}
    if errors:
        unknown = "、".join(dict.fromkeys(n for n in login_names if n not in centers))
        raise BusinessError(f"中心账号 {unknown} 不存在", 422, {"json": {"members": errors}})
    before = sorted(session.scalars(select(GroupMember.login_name).where(GroupMember.group_code == code)))
    after = sorted(wanted)
    if before != after:
        session.execute(delete(GroupMember).where(GroupMember.group_code == code,
                                                  GroupMember.login_name.not_in(after)))
        for login_name in sorted(set(after) - set(before)):
            session.add(GroupMember(group_code=code, login_name=login_name))
        audit(actor, "group_members", code, f"设置用户组「{group.name}」成员",
              before={"code": code, "members": before}, after={"code": code, "members": after})
        try:
            session.flush()
        except IntegrityError as exc:  # the same member added by a concurrent request
            session.rollback()
            raise BusinessError("用户组成员已被他人修改，请刷新后重试", 409) from exc
        # Commits the change with the revocations: the affected accounts' tokens carry the old groups.
        sessions.revoke_accounts_sessions(sorted(set(before) ^ set(after)), "groups_changed")
    return _view(group, _members_of([code])[code])


def processes_naming(code: str) -> list[str]:
    """The deployed processes that send tasks to the group, asked of the workflow service with the
    caller's own token (unit tests replace this function)."""
    header = request.headers.get("Authorization", "")
    try:
        body = ServiceClient("workflow", header.removeprefix("Bearer ") or None).get(
            f"/groups/{quote(code, safe='')}/processes")
    except ServiceError as exc:  # unknown is not "none": a group a process needs is never deleted blind
        raise BusinessError(f"无法确认流程是否使用该用户组，请稍后再试（{exc.message}）", 503) from exc
    return [f"{d.get('name') or d['process_key']}（第{d['version']}版）" for d in body.get("items", [])]


def delete_group(actor: str, code: str) -> None:
    name = get_group(code).name
    session = db.session()
    count = session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_code == code))
    if count:
        raise BusinessError(f"用户组「{name}」还有{count}名成员，请先移除成员再删除", 409)
    naming = processes_naming(code)
    if naming:
        raise BusinessError(f"用户组「{name}」是以下流程的候选组，请先在流程设计中修改：{'、'.join(naming)}", 409)
    # One conditional DELETE decides: a member added since the count above leaves the group in place.
    still_empty = ~select(GroupMember.login_name).where(GroupMember.group_code == code).exists()
    deleted = session.execute(delete(Group).where(Group.code == code, still_empty))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise BusinessError(f"用户组「{name}」已有新成员或已被删除，请刷新后重试", 409)
    audit(actor, "group_delete", code, f"删除用户组「{name}」",
          before={"code": code, "name": name, "members": []})
    session.commit()
