"""The admin console's 用户组 page (center groups and their members, kept by the auth service) and its
审计日志 page (the admin actions recorded by the auth, workflow and member services, newest first), where
校验 checks each service's hash chain and 导出 downloads one service's chain for offline verification
(docs/audit.md).

用户组 needs the center permission 用户组, 审计日志 the permission 审计日志; the services check it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .console import console
from .files import passed_on
from .session import CENTER_KEY

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("groups", __name__, url_prefix="/admin")

# The services whose admin actions the audit page merges, with the name the console shows.
AUDIT_SERVICES = {"auth": "认证服务", "workflow": "流程服务", "member": "缴存人服务"}
AUDIT_PER_PAGE = 50
AUDIT_MAX_PAGE = 20  # each service is read up to page x 50 records deep to merge them in time order
SERVICE_PAGE = 200  # hall_common.schemas.MAX_PER_PAGE
ACTION_NAMES = {
    "change_password": "修改密码", "reset_password": "重置密码", "set_permissions": "设置权限",
    "issue_ukey": "签发UKey", "bind_ukey": "绑定UKey", "unbind_ukey": "解除UKey绑定", "revoke_ukey": "注销UKey",
    "group_create": "新建用户组", "group_rename": "修改用户组名称", "group_members": "设置用户组成员",
    "group_delete": "删除用户组", "deploy_process": "部署流程", "reassign_task": "转办任务",
    "terminate_instance": "终止流程", "center_permissions": "设置中心权限", "role_create": "新建中心角色",
    "role_update": "修改中心角色", "role_members": "设置中心角色成员", "role_delete": "删除中心角色",
    "service_token_issue": "签发服务令牌", "service_token_withdraw": "撤销服务令牌",
    "policy_create": "新增政策参数", "policy_update": "修改政策参数", "policy_delete": "删除政策参数",
    "refresh_token_reused": "登录凭据被重复使用", "complete_task": "审批任务",
    "enrol_totp": "绑定动态口令", "reset_totp": "重置动态口令", "request_reset_totp": "申请重置动态口令",
    "webauthn_register": "登记安全密钥", "webauthn_remove": "删除安全密钥", "webauthn_revoke": "注销安全密钥",
    "webauthn_switch": "安全密钥登录开通", "webauthn_code_issue": "发放安全密钥登记码",
    "webauthn_counter_regression": "安全密钥计数器回退（疑似复制）",
}
# The actor's login factor (hall_common.security.FACTOR_AMR) as the audit page names it.
FACTOR_NAMES = {"password": "密码", "totp": "密码+动态口令", "ukey": "密码+UKey", "webauthn": "密码+安全密钥"}


def _auth() -> Any:
    return sessions.client("auth", CENTER_KEY)


def _segment(value: str) -> str:
    return quote(value, safe="")


def auth_change(change: Callable[[], Any], success: str) -> bool:
    """Run a change at the auth service: its refusal is shown on the page, a 5xx is an error page."""
    try:
        change()
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
        return False
    flash(success, "success")
    return True


@bp.route("/groups")
@console("group_admin")
def groups() -> Any:
    return render_template("admin/groups.html", groups=_auth().get("/groups")["items"],
                           accounts=_auth().get("/center-accounts"), form=request.args)


@bp.route("/groups", methods=["POST"])
@console("group_admin")
def create() -> Any:
    code, name = request.form.get("code", "").strip(), request.form.get("name", "")
    if auth_change(lambda: _auth().post("/groups", {"code": code, "name": name}), f"已新建用户组「{name.strip()}」"):
        return redirect(url_for("groups.groups"))
    return redirect(url_for("groups.groups", code=code, name=name))  # the refused input stays in the form


@bp.route("/groups/<code>/rename", methods=["POST"])
@console("group_admin")
def rename(code: str) -> Any:
    name = request.form.get("name", "")
    auth_change(lambda: _auth().request("PUT", f"/groups/{_segment(code)}", json={"name": name}),
          f"已将用户组 {code} 的名称改为「{name.strip()}」")
    return redirect(url_for("groups.groups"))


@bp.route("/groups/<code>/members", methods=["POST"])
@console("group_admin")
def members(code: str) -> Any:
    chosen = request.form.getlist("members")
    auth_change(lambda: _auth().request("PUT", f"/groups/{_segment(code)}/members", json={"members": chosen}),
          f"已保存用户组 {code} 的成员，成员变动的账号需重新登录")
    return redirect(url_for("groups.groups"))


@bp.route("/groups/<code>/delete", methods=["POST"])
@console("group_admin")
def delete(code: str) -> Any:
    auth_change(lambda: _auth().delete(f"/groups/{_segment(code)}"), f"已删除用户组 {code}")
    return redirect(url_for("groups.groups"))


@bp.route("/audit")
@console("audit")
def audit() -> Any:
    return _audit_page()


@bp.route("/audit/verify")
@console("audit")
def audit_verify() -> Any:
    """校验: each service checks its own chain; the page names the first broken record of each."""
    checks = []
    for service, service_name in AUDIT_SERVICES.items():
        try:
            verdict = sessions.client(service, CENTER_KEY).get("/audit-records/verify")
        except ServiceError as exc:
            if exc.status == 401:
                raise
            checks.append({"service": service, "service_name": service_name, "ok": False,
                           "message": "暂不可用，未能校验"})
            continue
        checks.append({"service": service, "service_name": service_name, "ok": verdict["ok"],
                       "message": verdict["message"]})
    return _audit_page(checks)


@bp.route("/audit/export")
@console("audit")
def audit_export() -> Any:
    """导出: the chosen service's records with their hashes (JSON lines), streamed from the service."""
    service = request.args.get("service", "")
    if service not in AUDIT_SERVICES:
        flash("请选择要导出的服务", "error")
        return redirect(url_for("groups.audit"))
    try:
        return passed_on(sessions.client(service, CENTER_KEY), "/audit-records/export")
    except ServiceError as exc:
        if exc.status == 401:
            raise
        flash(f"{AUDIT_SERVICES[service]}暂不可用，审计日志未能导出", "error")
        return redirect(url_for("groups.audit"))


def _audit_page(checks: list[dict[str, Any]] | None = None) -> Any:
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), AUDIT_MAX_PAGE)
    depth = page * AUDIT_PER_PAGE
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    more = False
    for service, service_name in AUDIT_SERVICES.items():
        try:
            items, total = _newest(service, depth)
        except ServiceError as exc:
            if exc.status == 401:
                raise
            notes.append(f"{service_name}暂未提供审计日志，以下仅显示其他服务的记录" if exc.status == 404
                         else f"{service_name}暂不可用，其审计日志未能列出")
            continue
        more = more or total > depth
        rows.extend({**item, "service_name": service_name, "before": _state(item["before"]),
                     "after": _state(item["after"]), "action_name": ACTION_NAMES.get(item["action"], item["action"])}
                    for item in items)
    rows.sort(key=lambda row: row["at"], reverse=True)
    shown = rows[(page - 1) * AUDIT_PER_PAGE:depth]
    more = more or len(rows) > depth
    return render_template("admin/audit.html", rows=shown, notes=notes, page=page, factor_names=FACTOR_NAMES,
                           has_next=more and page < AUDIT_MAX_PAGE, checks=checks, services=AUDIT_SERVICES)


def _state(value: Any) -> str:
    """A recorded state as readable text (Chinese as it is, not escaped)."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _newest(service: str, count: int) -> tuple[list[dict[str, Any]], int]:
    """The service's ``count`` newest audit records (fewer if it has fewer) and its total."""
    client = sessions.client(service, CENTER_KEY)
    items: list[dict[str, Any]] = []
    number, total = 1, 0
    while len(items) < count:
        answer = client.get("/audit-records", page=number, per_page=SERVICE_PAGE)
        total = answer["total"]
        items.extend(answer["items"])
        if not answer["items"] or len(items) >= total:
            break
        number += 1
    return items[:count], total
