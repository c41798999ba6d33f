"""The center's operations page: events the services gave up on (dead letters), and their retry."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError
from hall_common.settings import SERVICES

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("ops", __name__, url_prefix="/admin")

SERVICE_NAMES = {
    "auth": "认证服务", "employer": "单位服务", "member": "缴存人服务",
    "payment": "资金服务", "workflow": "流程服务", "notify": "消息服务",
}
STATUS_NAMES = {"dead": "待处理", "retrying": "处理中", "resolved": "已处理"}
FILTERS = {"open": "未处理", "resolved": "已处理", "all": "全部"}
PER_SERVICE = 100


@bp.route("/dead-letters")
@console("dead_letters")
def dead_letters() -> Any:
    status = request.args.get("status", "open")
    if status not in FILTERS:
        status = "open"
    rows: list[dict[str, Any]] = []
    unavailable: list[str] = []
    # A service with more than a page of dead letters (a long outage) says so rather than hide the rest.
    truncated: list[tuple[str, int, int]] = []
    for service in SERVICES:
        try:
            page = sessions.client(service, CENTER_KEY).get("/dead-letters", status=status, page=1,
                                                            per_page=PER_SERVICE)
        except ServiceError as exc:
            if exc.status == 401:
                raise  # the session ended: log in again
            unavailable.append(SERVICE_NAMES[service])
            continue
        if page["total"] > len(page["items"]):
            truncated.append((SERVICE_NAMES[service], len(page["items"]), page["total"]))
        for item in page["items"]:
            rows.append({**item, "service": service, "service_name": SERVICE_NAMES[service],
                         "business": _business(item["payload"])})
    rows.sort(key=lambda row: row["last_failed_at"], reverse=True)
    return render_template("admin/dead_letters.html", rows=rows, status=status, filters=FILTERS,
                           status_names=STATUS_NAMES, unavailable=unavailable, truncated=truncated)


def _business(payload: str) -> str:
    """The business the event is about, as the center knows it (its subject or employer)."""
    try:
        event = json.loads(payload)
        data = event.get("data") or {}
        label = " ".join(str(v) for v in (data.get("title"), data.get("employer_no")) if v)
        subject = str(event.get("subject") or "")
        return f"{subject}（{label}）" if subject and label else subject or label
    except (ValueError, AttributeError):
        return ""


@bp.route("/dead-letters/<service>/<int:dead_letter_id>/retry", methods=["POST"])
@console("dead_letters")
def retry(service: str, dead_letter_id: int) -> Any:
    if service not in SERVICES:
        abort(404)
    try:
        result = sessions.client(service, CENTER_KEY).post(f"/dead-letters/{dead_letter_id}/retry")
    except ServiceError as exc:
        if exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(f"{result['message']}：{SERVICE_NAMES[service]} {result['item']['type']}", "success")
    return redirect(url_for("ops.dead_letters", status=request.args.get("status", "open")))
