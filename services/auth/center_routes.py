"""The center's rights administration: center accounts' own permissions and the center roles."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import rights
from .schemas import (
    CenterAccountSchema,
    CenterPermissionsSchema,
    GroupMembersSchema,
    MessageSchema,
    RoleCreateSchema,
    RoleListSchema,
    RoleSchema,
    RoleUpdateSchema,
)

blp = Blueprint("center_rights", __name__, description="Center accounts' permissions and center roles")


@blp.route("/center-accounts")
@allow("center:center_rights", "center:group_admin", "center:process_monitor")
@blp.response(200, CenterAccountSchema(many=True))
def center_accounts() -> Any:
    """Every center account with its groups, roles and permissions (the 用户组 and 中心权限 pages, and
    the accounts a task can be reassigned to)."""
    return rights.center_accounts()


@blp.route("/center-accounts/<login_name>/permissions", methods=["PUT"])
@allow("center:center_rights")
@blp.arguments(CenterPermissionsSchema)
@blp.response(200, CenterAccountSchema)
def set_center_permissions(body: dict[str, Any], login_name: str) -> Any:
    return rights.set_account_permissions(current_principal().login_name, login_name, body["permissions"])


@blp.route("/center-roles")
@allow("center:center_rights")
@blp.response(200, RoleListSchema)
def list_roles() -> dict[str, Any]:
    return {"items": rights.list_roles()}


@blp.route("/center-roles", methods=["POST"])
@allow("center:center_rights")
@blp.arguments(RoleCreateSchema)
@blp.response(201, RoleSchema)
def create_role(body: dict[str, Any]) -> Any:
    return rights.create_role(current_principal().login_name, body["code"], body["name"].strip(),
                              body["permissions"])


@blp.route("/center-roles/<code>", methods=["PUT"])
@allow("center:center_rights")
@blp.arguments(RoleUpdateSchema)
@blp.response(200, RoleSchema)
def update_role(body: dict[str, Any], code: str) -> Any:
    return rights.update_role(current_principal().login_name, code, body["name"].strip(), body["permissions"])


@blp.route("/center-roles/<code>/members", methods=["PUT"])
@allow("center:center_rights")
@blp.arguments(GroupMembersSchema)
@blp.response(200, RoleSchema)
def set_role_members(body: dict[str, Any], code: str) -> Any:
    return rights.set_role_members(current_principal().login_name, code, body["members"])


@blp.route("/center-roles/<code>", methods=["DELETE"])
@allow("center:center_rights")
@blp.response(200, MessageSchema)
def delete_role(code: str) -> dict[str, str]:
    rights.delete_role(current_principal().login_name, code)
    return {"message": "中心角色已删除"}
