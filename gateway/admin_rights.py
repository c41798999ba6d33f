"""The admin console's 中心权限 page: each center account's own center permissions, and the center
roles (named sets of permissions) with their members. Needs the center permission 中心权限管理; the
auth service checks it again, audits every change and ends the affected accounts' sessions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request, url_for

from hall_common.permissions import CENTER_PERMISSIONS

from . import session as sessions
from .admin_groups import auth_change
from .console import console
from .session import CENTER_KEY

bp = Blueprint("rights", __name__, url_prefix="/admin/rights")


def _auth() -> Any:
    return sessions.client("auth", CENTER_KEY)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _chosen() -> list[str]:
    return [p for p in request.form.getlist("permissions") if p in CENTER_PERMISSIONS]


@bp.route("/")
@console("center_rights")
def rights() -> Any:
    return render_template("admin/rights.html", accounts=_auth().get("/center-accounts"),
                           roles=_auth().get("/center-roles")["items"], permissions=CENTER_PERMISSIONS,
                           form=request.args)


@bp.route("/accounts/<login_name>", methods=["POST"])
@console("center_rights")
def account(login_name: str) -> Any:
    auth_change(lambda: _auth().request("PUT", f"/center-accounts/{_segment(login_name)}/permissions",
                                        json={"permissions": _chosen()}),
                f"已保存 {login_name} 的中心权限，该账号需重新登录")
    return redirect(url_for("rights.rights"))


@bp.route("/roles", methods=["POST"])
@console("center_rights")
def create_role() -> Any:
    code, name = request.form.get("code", "").strip(), request.form.get("name", "")
    body = {"code": code, "name": name, "permissions": _chosen()}
    if auth_change(lambda: _auth().post("/center-roles", body), f"已新建中心角色「{name.strip()}」"):
        return redirect(url_for("rights.rights"))
    return redirect(url_for("rights.rights", code=code, name=name))  # the refused input stays in the form


@bp.route("/roles/<code>", methods=["POST"])
@console("center_rights")
def update_role(code: str) -> Any:
    body = {"name": request.form.get("name", ""), "permissions": _chosen()}
    auth_change(lambda: _auth().request("PUT", f"/center-roles/{_segment(code)}", json=body),
                f"已保存中心角色 {code}")
    return redirect(url_for("rights.rights"))


@bp.route("/roles/<code>/members", methods=["POST"])
@console("center_rights")
def role_members(code: str) -> Any:
    chosen = request.form.getlist("members")
    auth_change(lambda: _auth().request("PUT", f"/center-roles/{_segment(code)}/members", json={"members": chosen}),
                f"已设置中心角色 {code} 的成员")
    return redirect(url_for("rights.rights"))


@bp.route("/roles/<code>/delete", methods=["POST"])
@console("center_rights")
def delete_role(code: str) -> Any:
    auth_change(lambda: _auth().delete(f"/center-roles/{_segment(code)}"), f"已删除中心角色 {code}")
    return redirect(url_for("rights.rights"))
