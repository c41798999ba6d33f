"""Login (public), the operator's own account (session), and the center's account and UKey admin."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import accounts, approvals, groups, second_factor, services, ukeys
from .keys import public_key_pem
from .schemas import (
    ApprovalRequestedSchema,
    BindingSchema,
    CenterCodeSchema,
    CenterLoginResultSchema,
    CenterLoginSchema,
    ChallengeRequestSchema,
    ChallengeSchema,
    EmployerLoginSchema,
    GroupCreateSchema,
    GroupListSchema,
    GroupMembersSchema,
    GroupRenameSchema,
    GroupSchema,
    InitialPasswordSchema,
    LargeTextSchema,
    LoginStageSchema,
    MessageSchema,
    OperatorSchema,
    PasswordChangeSchema,
    PermissionsSchema,
    PublicKeySchema,
    RefreshRequestSchema,
    RefreshSchema,
    ResetSchema,
    SecondFactorAccountSchema,
    SelectSchema,
    SessionSchema,
    SoundSchema,
    TicketSchema,
    TotpEnrolmentSchema,
    UKeyIssueSchema,
    UKeySchema,
)

blp = Blueprint("auth", __name__, description="Login, sessions, accounts and UKeys")


@blp.route("/auth/public-key")
@allow("public")
@blp.response(200, PublicKeySchema)
def public_key() -> dict[str, str]:
    return {"algorithm": "ES256", "public_key": public_key_pem()}


@blp.route("/auth/challenge", methods=["POST"])
@allow("public")
@blp.arguments(ChallengeRequestSchema)
@blp.response(200, ChallengeSchema)
def challenge(body: dict[str, Any]) -> dict[str, Any]:
    return services.challenge(body["login_name"])


@blp.route("/auth/login", methods=["POST"])
@allow("public")
@blp.arguments(EmployerLoginSchema)
@blp.response(200, LoginStageSchema)
def login(body: dict[str, Any]) -> dict[str, Any]:
    return services.login_employer(**body)


@blp.route("/auth/initial-password", methods=["POST"])
@allow("public")
@blp.arguments(InitialPasswordSchema)
@blp.response(200, LoginStageSchema)
def initial_password(body: dict[str, Any]) -> dict[str, Any]:
    return services.change_initial_password(body["ticket"], body["new_password"])


@blp.route("/auth/select", methods=["POST"])
@allow("public")
@blp.arguments(SelectSchema)
@blp.response(200, SessionSchema)
def select(body: dict[str, Any]) -> dict[str, Any]:
    return services.select_employer(body["ticket"], body["employer_no"])


@blp.route("/auth/center-login", methods=["POST"])
@allow("public")
@blp.arguments(CenterLoginSchema)
@blp.response(200, CenterLoginResultSchema)
def center_login(body: dict[str, Any]) -> dict[str, Any]:
    return services.login_center(body["login_name"], body["password"])


@blp.route("/auth/center-totp", methods=["POST"])
@allow("public")
@blp.arguments(CenterCodeSchema)
@blp.response(200, SessionSchema)
def center_totp(body: dict[str, Any]) -> dict[str, Any]:
    """The console's second step: the TOTP code with the password stage's ticket (it also confirms an enrolment)."""
    return services.center_second_step(body["ticket"], body["code"])


@blp.route("/auth/center-totp/enrolment", methods=["POST"])
@allow("public")
@blp.arguments(TicketSchema)
@blp.response(200, TotpEnrolmentSchema)
def center_totp_enrolment(body: dict[str, Any]) -> dict[str, Any]:
    """The secret to bind, for an enrolment ticket only (never once the account has enrolled)."""
    return second_factor.enrolment(body["ticket"])


@blp.route("/auth/center-second-factors")
@allow("center:account_admin")
@blp.response(200, SecondFactorAccountSchema(many=True))
def center_second_factors() -> Any:
    return second_factor.accounts()


@blp.route("/auth/center-second-factors/<login_name>/reset", methods=["POST"])
@allow("center:account_admin")
@blp.response(200, MessageSchema)
@blp.alt_response(202, schema=ApprovalRequestedSchema, success=True,
                  description="dual control: requested, a second account with 账号管理 must confirm")
def reset_center_second_factor(login_name: str) -> Any:
    actor = current_principal().login_name
    if approvals.enabled():
        return _requested(approvals.request_totp_reset(actor, login_name))
    second_factor.reset(actor, login_name)
    return {"message": f"已重置 {login_name} 的动态口令，该账号下次登录时重新绑定"}


@blp.route("/auth/refresh", methods=["POST"])
@allow("public")
@blp.arguments(RefreshRequestSchema)
@blp.response(200, RefreshSchema)
def refresh(body: dict[str, Any]) -> dict[str, Any]:
    return services.refresh(body["refresh_token"])


@blp.route("/auth/logout", methods=["POST"])
@allow("signed_in")
@blp.response(200, MessageSchema)
def logout() -> dict[str, str]:
    services.logout(current_principal())
    return {"message": "已退出系统"}


@blp.route("/auth/password", methods=["POST"])
@allow("signed_in")
@blp.arguments(PasswordChangeSchema)
@blp.response(200, MessageSchema)
def change_password(body: dict[str, Any]) -> dict[str, str]:
    accounts.change_password(current_principal().login_name, body["old_password"], body["new_password"])
    return {"message": "密码修改成功"}


@blp.route("/auth/sound", methods=["POST"])
@allow("signed_in")
@blp.arguments(SoundSchema)
@blp.response(200, SoundSchema)
def sound(body: dict[str, Any]) -> Any:
    return accounts.set_sound(current_principal().login_name, body["sound_enabled"])


@blp.route("/auth/large-text", methods=["POST"])
@allow("signed_in")
@blp.arguments(LargeTextSchema)
@blp.response(200, LargeTextSchema)
def large_text(body: dict[str, Any]) -> Any:
    """大字模式 on or off for the logged-in operator; the gateway applies it to every page."""
    return accounts.set_large_text(current_principal().login_name, body["large_text"])


# -- the center's administration ------------------------------------------------------------------

@blp.route("/auth/operators")
@allow("center:account_admin")
@blp.response(200, OperatorSchema(many=True))
def operators() -> Any:
    return accounts.employer_accounts()


@blp.route("/auth/operators/<login_name>/reset-password", methods=["POST"])
@allow("center:account_admin")
@blp.response(200, ResetSchema)
@blp.alt_response(202, schema=ApprovalRequestedSchema, success=True,
                  description="dual control: requested, a second account with 账号管理 must confirm")
def reset_password(login_name: str) -> Any:
    actor = current_principal()
    if approvals.enabled():
        return _requested(approvals.request_reset(actor.login_name, login_name))
    one_time = accounts.reset_password(actor.login_name, login_name)
    return {"message": "密码已重置，请将一次性密码交给单位经办人", "one_time_password": one_time}


@blp.route("/auth/operators/<login_name>/permissions", methods=["PUT"])
@allow("center:account_admin")
@blp.arguments(PermissionsSchema)
@blp.response(200, OperatorSchema)
def set_permissions(body: dict[str, Any], login_name: str) -> Any:
    actor = current_principal()
    return accounts.set_permissions(actor.login_name, login_name, body["permissions"])


@blp.route("/auth/ukeys")
@allow("center:ukey_admin")
@blp.response(200, UKeySchema(many=True))
def list_ukeys() -> Any:
    return [_ukey_view(ukey, names) for ukey, names in ukeys.list_ukeys()]


@blp.route("/auth/ukeys", methods=["POST"])
@allow("center:ukey_admin")
@blp.arguments(UKeyIssueSchema)
@blp.response(201, UKeySchema)
@blp.alt_response(202, schema=ApprovalRequestedSchema, success=True,
                  description="dual control: requested, a second account with UKey管理 must confirm")
def issue_ukey(body: dict[str, Any]) -> Any:
    actor = current_principal()
    args = (body["token_serial"], body["token_label"], body["public_key"], body["login_names"])
    if approvals.enabled():
        return _requested(approvals.request_issue(actor.login_name, *args))
    ukey = ukeys.issue(actor.login_name, *args)
    return _ukey_view(ukey, ukeys.bound_accounts(ukey))


@blp.route("/auth/ukeys/<int:ukey_id>/bindings", methods=["POST"])
@allow("center:ukey_admin")
@blp.arguments(BindingSchema)
@blp.response(200, MessageSchema)
@blp.alt_response(202, schema=ApprovalRequestedSchema, success=True,
                  description="dual control: requested, a second account with UKey管理 must confirm")
def bind(body: dict[str, Any], ukey_id: int) -> Any:
    actor = current_principal()
    if approvals.enabled():
        return _requested(approvals.request_bind(actor.login_name, ukey_id, body["login_name"]))
    ukeys.bind(actor.login_name, ukey_id, body["login_name"])
    return {"message": "绑定成功"}


@blp.route("/auth/ukeys/<int:ukey_id>/bindings/<login_name>", methods=["DELETE"])
@allow("center:ukey_admin")
@blp.response(200, MessageSchema)
def unbind(ukey_id: int, login_name: str) -> dict[str, str]:
    ukeys.unbind(current_principal().login_name, ukey_id, login_name)
    return {"message": "已解除绑定"}


@blp.route("/auth/ukeys/<int:ukey_id>/revoke", methods=["POST"])
@allow("center:ukey_admin")
@blp.response(200, MessageSchema)
def revoke(ukey_id: int) -> dict[str, str]:
    ukeys.revoke(current_principal().login_name, ukey_id)
    return {"message": "UKey证书已注销"}


# -- center groups (the candidate groups of approval tasks) -----------------------------------------

@blp.route("/groups")
@allow("center")
@blp.response(200, GroupListSchema)
def list_groups() -> dict[str, Any]:
    # every center user: the inbox and the designer show group names
    return {"items": groups.list_groups()}


@blp.route("/groups", methods=["POST"])
@allow("center:group_admin")
@blp.arguments(GroupCreateSchema)
@blp.response(201, GroupSchema)
def create_group(body: dict[str, Any]) -> dict[str, Any]:
    return groups.create_group(current_principal().login_name, body["code"], body["name"].strip())


@blp.route("/groups/<code>", methods=["PUT"])
@allow("center:group_admin")
@blp.arguments(GroupRenameSchema)
@blp.response(200, GroupSchema)
def rename_group(body: dict[str, Any], code: str) -> dict[str, Any]:
    return groups.rename_group(current_principal().login_name, code, body["name"].strip())


@blp.route("/groups/<code>/members", methods=["PUT"])
@allow("center:group_admin")
@blp.arguments(GroupMembersSchema)
@blp.response(200, GroupSchema)
def set_group_members(body: dict[str, Any], code: str) -> dict[str, Any]:
    return groups.set_members(current_principal().login_name, code, body["members"])


@blp.route("/groups/<code>", methods=["DELETE"])
@allow("center:group_admin")
@blp.response(200, MessageSchema)
def delete_group(code: str) -> dict[str, str]:
    groups.delete_group(current_principal().login_name, code)
    return {"message": "用户组已删除"}


def _requested(row: Any) -> Response:
    """202 with what was requested: under dual control nothing happens until another account confirms."""
    response = jsonify(ApprovalRequestedSchema().dump(
        {"message": approvals.REQUESTED_MESSAGE, "approval": approvals.view(row, current_principal())}))
    response.status_code = 202
    return response


def _ukey_view(ukey: Any, login_names: list[str]) -> dict[str, Any]:
    return {**{c: getattr(ukey, c) for c in UKeySchema().fields if c != "login_names"}, "login_names": login_names}
