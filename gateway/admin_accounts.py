"""The center's account administration: employer accounts (permissions, password reset) and UKeys
(issue through the agent, bind, unbind, revoke), and under dual control the 待复核 requests of both
pages: a reset, an issue or a binding one administrator asked for, confirmed or rejected by another."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from hall_common.client import ServiceError
from hall_common.permissions import PERMISSIONS
from hall_common.settings import get_settings

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("accounts", __name__, url_prefix="/admin")


def _auth() -> Any:
    return sessions.client("auth", CENTER_KEY)


def _flash_result(call: Any) -> Any:
    """Run a call to the auth service, flashing its message; user errors are shown, not raised."""
    try:
        result = call()
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        flash(exc.message, "error")
        return None
    if "message" in result:
        flash(result["message"], "success")
    return result


def _segment(value: str) -> str:
    """A name from the page's URL as one path segment of the auth service's URL: a ``?``, ``#`` or
    ``..`` in it must not reach another route or add a query."""
    return quote(value, safe="")


RESET_KINDS = ("reset_password", "reset_totp")
UKEY_KINDS = ("issue_ukey", "bind_ukey")
PAGES = {"accounts": "accounts.accounts", "ukeys": "accounts.ukeys"}


def _approvals(kinds: tuple[str, ...]) -> dict[str, Any]:
    """What the page's 待复核 section needs (shown while dual control is on, or a request is listed)."""
    settings = get_settings()
    items = [a for a in _auth().get("/auth/approvals")["items"] if a["kind"] in kinds]
    return {"approvals": items, "dual_control": settings.dual_control or bool(items),
            "dual_control_hours": settings.dual_control_hours}


@bp.route("/accounts")
@console("account_admin")
def accounts() -> Any:
    return render_template("admin/accounts.html", operators=_auth().get("/auth/operators"), permissions=PERMISSIONS,
                           second_factors=_auth().get("/auth/center-second-factors"), **_approvals(RESET_KINDS))


@bp.route("/accounts/center/<login_name>/reset-second-factor", methods=["POST"])
@console("account_admin")
def reset_second_factor(login_name: str) -> Any:
    """重置动态口令 of another center account (the auth service refuses one's own), audited there."""
    _flash_result(lambda: _auth().post(f"/auth/center-second-factors/{_segment(login_name)}/reset"))
    return redirect(url_for("accounts.accounts"))


@bp.route("/accounts/<login_name>/permissions", methods=["POST"])
@console("account_admin")
def set_permissions(login_name: str) -> Any:
    chosen = [p for p in PERMISSIONS if request.form.get(p)]
    path = f"/auth/operators/{_segment(login_name)}/permissions"
    if _flash_result(lambda: _auth().request("PUT", path, json={"permissions": chosen})) is not None:
        flash(f"已保存 {login_name} 的权限，下次登录生效", "success")
    return redirect(url_for("accounts.accounts"))


@bp.route("/accounts/<login_name>/reset-password", methods=["POST"])
@console("account_admin")
def reset_password(login_name: str) -> Any:
    result = _flash_result(lambda: _auth().post(f"/auth/operators/{_segment(login_name)}/reset-password"))
    if result is not None and result.get("one_time_password"):  # dual control off: reset at once
        flash(f"{login_name} 的一次性密码：{result['one_time_password']}", "success")
    return redirect(url_for("accounts.accounts"))


@bp.route("/ukeys")
@console("ukey_admin")
def ukeys() -> Any:
    return render_template(
        "admin/ukeys.html", ukeys=_auth().get("/auth/ukeys"), operators=_auth().get("/auth/operators"),
        agent_url=get_settings().ukey_agent_url, **_approvals(UKEY_KINDS),
    )


@bp.route("/ukeys", methods=["POST"])
@console("ukey_admin")
def issue_ukey() -> Any:
    """Called by the page's script with the public key the agent generated on the token: the issued UKey
    (201), or under dual control the request (202), whose message the reloaded page shows."""
    data = sessions.json_object()
    try:
        answer = _auth().post("/auth/ukeys", data)
    except ServiceError as exc:
        return jsonify({"message": exc.message, "errors": exc.errors}), exc.status
    if "approval" in answer:
        flash(answer["message"], "success")
        return jsonify(answer), 202
    return jsonify(answer), 201


@bp.route("/ukeys/<int:ukey_id>/bindings", methods=["POST"])
@console("ukey_admin")
def bind(ukey_id: int) -> Any:
    login_name = request.form.get("login_name", "")
    _flash_result(lambda: _auth().post(f"/auth/ukeys/{ukey_id}/bindings", {"login_name": login_name}))
    return redirect(url_for("accounts.ukeys"))


@bp.route("/ukeys/<int:ukey_id>/bindings/<login_name>/delete", methods=["POST"])
@console("ukey_admin")
def unbind(ukey_id: int, login_name: str) -> Any:
    _flash_result(lambda: _auth().delete(f"/auth/ukeys/{ukey_id}/bindings/{_segment(login_name)}"))
    return redirect(url_for("accounts.ukeys"))


@bp.route("/ukeys/<int:ukey_id>/revoke", methods=["POST"])
@console("ukey_admin")
def revoke(ukey_id: int) -> Any:
    _flash_result(lambda: _auth().post(f"/auth/ukeys/{ukey_id}/revoke"))
    return redirect(url_for("accounts.ukeys"))


def _back() -> Any:
    return redirect(url_for(PAGES.get(request.form.get("page", ""), "accounts.accounts")))


@bp.route("/approvals/<int:approval_id>/confirm", methods=["POST"])
@console("account_admin", "ukey_admin")
def confirm(approval_id: int) -> Any:
    """复核通过: the auth service acts now, as this account. A reset's one-time password is shown here,
    to the confirming administrator only; an issued certificate waits on the UKey page to be written."""
    result = _flash_result(lambda: _auth().post(f"/auth/approvals/{approval_id}/confirm"))
    if result is not None and result.get("one_time_password"):
        login_name = result["approval"]["target"]
        flash(f"{login_name} 的一次性密码：{result['one_time_password']}", "success")
    return _back()


@bp.route("/approvals/<int:approval_id>/reject", methods=["POST"])
@console("account_admin", "ukey_admin")
def reject(approval_id: int) -> Any:
    """驳回 another administrator's request, or 撤销 one's own."""
    _flash_result(lambda: _auth().post(f"/auth/approvals/{approval_id}/reject"))
    return _back()
