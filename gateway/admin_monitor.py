"""流程监控: the center's view of every process instance (filtered by business type, status, employer
and date, paged on the server), an instance's path and steps, and the admin's repairs: 转办 (reassign
the open task to another center account) and 终止 (terminate with a reason)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .admin import page_arg
from .console import console
from .session import CENTER_KEY

bp = Blueprint("monitor", __name__, url_prefix="/admin/instances")
PER_PAGE = 20
STATUS_NAMES = {"running": "审批中", "returned": "已退回", "completed": "已办结", "ended": "单位已结束",
                "terminated": "中心已终止"}
OUTCOME_NAMES = {"approved": "通过", "rejected": "不通过", "ended": "单位结束流程", "terminated": "中心终止"}
FILTERS = ("business_type", "status", "employer_no", "date_from", "date_to")
# The open task of an instance is looked up among the open tasks of its business type, a page at a time.
TASK_PAGES, TASK_PER_PAGE = 20, 100


def _workflow() -> Any:
    return sessions.client("workflow", CENTER_KEY)


def _refused(exc: ServiceError) -> None:
    """A refusal the user can act on is shown; an outage or an ended session is raised."""
    if exc.status >= 500 or exc.status == 401:
        raise exc
    flash(exc.message, "error")


@bp.route("/")
@console("process_monitor")
def instances() -> Any:
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    params = {name: value for name, value in filters.items() if value}
    types = _workflow().get("/definitions")
    types = types["items"] if isinstance(types, dict) else types
    try:
        page = _workflow().get("/instances", page=page_arg(), per_page=PER_PAGE, **params)
    except ServiceError as exc:
        _refused(exc)  # e.g. a date that is not one: the message names the field
        page = {"items": [], "total": 0, "page": 1}
    page["pages"] = max(1, -(-page["total"] // PER_PAGE))
    return render_template("admin/instances.html", page=page, filters=filters, types=types,
                           status_names=STATUS_NAMES, outcome_names=OUTCOME_NAMES, args=params)


def open_tasks(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """The instance's open tasks (for 转办)."""
    found: list[dict[str, Any]] = []
    for number in range(1, TASK_PAGES + 1):
        page = _workflow().get("/tasks", status="open", scope="all", business_type=instance["business_type"],
                               page=number, per_page=TASK_PER_PAGE)
        found += [item["task"] for item in page["items"] if item["instance"]["id"] == instance["id"]]
        if number * TASK_PER_PAGE >= page["total"]:
            break
    return found


@bp.route("/<int:instance_id>")
@console("process_monitor")
def instance(instance_id: int) -> Any:
    path = _workflow().get(f"/instances/{instance_id}/path")
    live = path["instance"]["status"] in ("running", "returned")
    tasks = open_tasks(path["instance"]) if live else []
    accounts = sessions.client("auth", CENTER_KEY).get("/center-accounts") if tasks else []
    accounts = accounts["items"] if isinstance(accounts, dict) else accounts
    return render_template("admin/instance.html", path=path, instance=path["instance"], tasks=tasks,
                           accounts=accounts, live=live, status_names=STATUS_NAMES,
                           outcome_names=OUTCOME_NAMES)


@bp.route("/<int:instance_id>/reassign", methods=["POST"])
@console("process_monitor")
def reassign(instance_id: int) -> Any:
    login_name = request.form.get("login_name", "")
    task_id = request.form.get("task_id", type=int)
    accounts = sessions.client("auth", CENTER_KEY).get("/center-accounts")
    accounts = accounts["items"] if isinstance(accounts, dict) else accounts
    account = next((a for a in accounts if a["login_name"] == login_name), None)
    if account is None or task_id is None:
        flash("请选择转办给哪位中心人员", "error")
    else:
        try:
            _workflow().post(f"/tasks/{task_id}/reassign",
                             {"login_name": login_name, "display_name": account["display_name"]})
        except ServiceError as exc:
            _refused(exc)
        else:
            flash(f"已转办给{account['display_name']}", "success")
    return redirect(url_for("monitor.instance", instance_id=instance_id))


@bp.route("/<int:instance_id>/terminate", methods=["POST"])
@console("process_monitor")
def terminate(instance_id: int) -> Any:
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash("请填写终止原因", "error")
        return redirect(url_for("monitor.instance", instance_id=instance_id))
    try:
        _workflow().post(f"/instances/{instance_id}/terminate", {"reason": reason})
    except ServiceError as exc:
        _refused(exc)
    else:
        flash("流程已终止", "success")
    return redirect(url_for("monitor.instance", instance_id=instance_id))
