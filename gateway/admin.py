"""The center's admin console: login, the approval inbox, approve or reject with an opinion."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError
from hall_common.settings import SERVICES

from . import session as sessions
from .session import CENTER_KEY

bp = Blueprint("admin", __name__, url_prefix="/admin")
login_required = sessions.login_required(CENTER_KEY, "admin.login")
ROWS_PER_PAGE = 50
MAX_ROWS_PAGE = 100_000


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    login_name = ""
    if request.method == "POST":
        login_name = request.form.get("login_name", "").strip()
        try:
            result = sessions.auth_for_browser().post(
                "/auth/center-login", {"login_name": login_name, "password": request.form.get("password", "")}
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            sessions.start(CENTER_KEY, result)
            return redirect(url_for("admin.tasks"))
    return render_template("admin/login.html", login_name=login_name)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sessions.revoke(CENTER_KEY)  # the center token is refused by every service, as an employer's is
    flash("已退出系统", "success")
    return redirect(url_for("admin.login"))


@bp.route("/")
@login_required
def tasks() -> Any:
    status = "completed" if request.args.get("status") == "completed" else "open"
    page = sessions.client("workflow", CENTER_KEY).get("/tasks", status=status, page=1, per_page=50)
    return render_template("admin/tasks.html", page=page, status=status)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    client = sessions.client("workflow", CENTER_KEY)
    opinion = ""
    if request.method == "POST":
        opinion = request.form.get("opinion", "")
        decision = request.form.get("decision", "")
        try:
            client.post(f"/tasks/{task_id}/complete", {"decision": decision, "opinion": opinion})
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            flash(exc.message, "error")
        else:
            flash("审批完成" if decision == "approve" else "已驳回", "success")
            return redirect(url_for("admin.tasks"))
    view = client.get(f"/tasks/{task_id}")
    diagram = client.get(f"/instances/{view['instance']['id']}/diagram")
    rows = business_rows(view["instance"], request.args.get("page", 1, type=int) or 1)
    return render_template("admin/task.html", view=view, diagram=diagram, rows=rows, opinion=opinion)


def business_rows(instance: dict[str, Any], page: int) -> dict[str, Any]:
    """One page of the business's rows, read from the service that owns the business."""
    owner = instance["owner"]
    if owner not in SERVICES:
        raise ServiceError("workflow", 502, "业务所属服务未知")
    path = f"/businesses/{quote(instance['business_type'], safe='')}/{quote(instance['business_id'], safe='')}"
    page = min(max(page, 1), MAX_ROWS_PAGE)
    rows: dict[str, Any] = sessions.client(owner, CENTER_KEY).get(path, page=page, per_page=ROWS_PER_PAGE)
    rows["pages"] = max(1, -(-rows["total"] // ROWS_PER_PAGE))
    return rows
