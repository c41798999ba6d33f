"""The center's admin console: login and the approval inbox (待认领, 我的任务, 已办): claim, release,
and 通过 / 不通过 / 退回 with an opinion, beside the business rows and the process path."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup

from hall_common.client import ServiceError
from hall_common.settings import SERVICES

from . import session as sessions
from .console import console, console_open
from .session import CENTER_KEY

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROWS_PER_PAGE = 50
MAX_ROWS_PAGE = 100_000
TASKS_PER_PAGE = 20
# tab -> (title, the workflow service's status and scope)
TABS = {"claim": ("待认领", "open", "group"), "mine": ("我的任务", "open", "mine"),
        "done": ("已办", "completed", "mine")}
DECISION_DONE = {"approve": "审批完成", "reject": "已驳回", "return": "已退回至单位修改"}
# The console login between its password and its second factor: the auth service's ticket, its stage
# (totp: enter the code; totp_enrol: bind an authenticator app first) and the page to go back to.
PENDING = "pending_center_login"


@bp.route("/login", methods=["GET", "POST"])
@console_open
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
            # Back to the page that asked for the login, query string and all (?tab=mine&page=3).
            back = sessions.next_path(url_for("admin.tasks"))
            if "stage" in result:  # HALL_CENTER_SECOND_FACTOR: the code comes next
                session[PENDING] = {"ticket": result["ticket"], "stage": result["stage"], "next": back}
                return redirect(url_for("admin.second_factor"))
            sessions.start(CENTER_KEY, result)
            return redirect(back)
    return render_template("admin/login.html", login_name=login_name)


@bp.route("/login/factor", methods=["GET", "POST"])
@console_open
def second_factor() -> Any:
    """动态口令: the code from the authenticator app; an account without one binds it here first (its
    secret as a QR code drawn here, and as text), which only a correct code completes."""
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for("admin.login"))
    if request.method == "POST":
        try:
            result = sessions.auth_for_browser().post(
                "/auth/center-totp", {"ticket": pending["ticket"], "code": request.form.get("code", "").strip()})
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            flash(exc.message, "error")
            if exc.status == 401 and "重新登录" in exc.message:  # the ticket expired or was used: start again
                session.pop(PENDING, None)
                return redirect(url_for("admin.login"))
        else:
            session.pop(PENDING, None)
            sessions.start(CENTER_KEY, result)
            return redirect(pending["next"] if sessions.local_path(pending["next"]) else url_for("admin.tasks"))
    enrolment = None
    if pending["stage"] == "totp_enrol":
        try:
            enrolment = sessions.auth_for_browser().post("/auth/center-totp/enrolment", {"ticket": pending["ticket"]})
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            flash(exc.message, "error")
            session.pop(PENDING, None)
            return redirect(url_for("admin.login"))
        enrolment["qr"] = qr_svg(enrolment["otpauth_uri"])
    # The enrolment page holds the secret: no cache keeps it (as the service token shown once).
    return render_template("admin/login_factor.html", enrolment=enrolment), 200, {"Cache-Control": "no-store"}


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code, drawn here: the secret never leaves for a third party."""
    code = segno.make(uri, error="m")
    svg = code.svg_inline(scale=5, border=2, title="动态口令绑定二维码", dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="动态口令绑定二维码" ', 1))  # noqa: S704 (segno's own markup)


@bp.route("/logout", methods=["POST"])
@console_open
def logout() -> Any:
    sessions.revoke(CENTER_KEY)  # the center token is refused by every service, as an employer's is
    flash("已退出系统", "success")
    return redirect(url_for("admin.login"))


def page_arg() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_ROWS_PAGE)


@bp.route("/")
@console()
def tasks() -> Any:
    tab = request.args.get("tab", "claim")
    if request.args.get("status") == "completed":  # the old address of 已审批
        tab = "done"
    if tab not in TABS:
        tab = "claim"
    _, status, scope = TABS[tab]
    page = sessions.client("workflow", CENTER_KEY).get("/tasks", status=status, scope=scope, page=page_arg(),
                                                       per_page=TASKS_PER_PAGE)
    page["pages"] = max(1, -(-page["total"] // TASKS_PER_PAGE))
    return render_template("admin/tasks.html", page=page, tab=tab, tabs=TABS, groups=group_names(),
                           me=sessions.principal(CENTER_KEY).get("sub", ""))


def group_names() -> dict[str, str]:
    """Group code -> name (复核) for the pages; the code stands in while the auth service is away."""
    try:
        body = sessions.client("auth", CENTER_KEY).get("/groups")
    except ServiceError as exc:
        if exc.status == 401:
            raise
        return {}
    return {g["code"]: g["name"] for g in (body["items"] if isinstance(body, dict) else body)}


def _task_action(task_id: int, action: str, done: str) -> Any:
    try:
        sessions.client("workflow", CENTER_KEY).post(f"/tasks/{task_id}/{action}")
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(done, "success")
    target = request.form.get("next", "")
    return redirect(target if sessions.local_path(target) else url_for("admin.tasks"))


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@console()
def claim(task_id: int) -> Any:
    return _task_action(task_id, "claim", "认领成功")


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@console()
def release(task_id: int) -> Any:
    return _task_action(task_id, "release", "已释放该任务")


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@console()
def task(task_id: int) -> Any:
    client = sessions.client("workflow", CENTER_KEY)
    opinion = ""
    if request.method == "POST":
        opinion = request.form.get("opinion", "")
        decision = request.form.get("decision", "")
        if decision not in DECISION_DONE:
            abort(400)
        try:
            client.post(f"/tasks/{task_id}/complete", {"decision": decision, "opinion": opinion})
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(exc.message, "error")
        else:
            flash(DECISION_DONE[decision], "success")
            return redirect(url_for("admin.tasks"))
    view = client.get(f"/tasks/{task_id}")
    path = client.get(f"/instances/{view['instance']['id']}/path")
    try:
        rows: dict[str, Any] | None = business_rows(view["instance"], page_arg())
    except ServiceError as exc:
        if exc.status != 404:
            raise
        rows = None  # an owner that does not list this business type yet: the page still decides
    return render_template("admin/task.html", view=view, path=path, rows=rows, opinion=opinion,
                           me=sessions.principal(CENTER_KEY).get("sub", ""))


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
