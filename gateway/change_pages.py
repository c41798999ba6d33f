"""What the two change-roster pages share (单位信息变更 ch. 3, 缴存人信息变更 ch. 9): the rows posted
from the form, the owner's row refusals placed at their fields, the approval process's path, and
结束流程 of a returned request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request

from hall_common.client import ServiceError

from . import session as sessions


def posted(fields: list[dict[str, Any]], kept: dict[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The editable items as posted (a missing one as it was) and the roster: what differs from the
    record's values. The page shows the same rows live (static/roster.js)."""
    values = {f["name"]: request.form.get(f["name"], kept.get(f["name"], f["value"])) for f in fields if f["editable"]}
    changes = [{"field": f["name"], "value": values[f["name"]]} for f in fields
               if f["editable"] and values[f["name"]].strip() != f["value"]]
    return values, changes


def send(call: Callable[[], dict[str, Any]], changes: list[dict[str, str]]) -> tuple[dict[str, Any] | None,
                                                                                        dict[str, str]]:
    """Submit (or resubmit) the roster: the owner's answer, or None with each refused row's reason at its
    field (the message flashed). An outage or an ended session goes to the error page."""
    try:
        return call(), {}
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
        rows = exc.errors.get("json", {}).get("changes", {})
        if not isinstance(rows, dict):
            return None, {}
        return None, {changes[int(i)]["field"]: "；".join(v["value"]) for i, v in rows.items()
                      if str(i).isdigit() and int(i) < len(changes) and isinstance(v, dict) and "value" in v}


def process_path(business_type: str, request_id: int, instance_id: int | None) -> dict[str, Any] | None:
    """The path of the request's approval process, or None while its process is still being started."""
    workflow = sessions.client("workflow")
    try:
        if not instance_id:
            instance_id = workflow.get(f"/businesses/{business_type}/{request_id}/instance")["id"]
        path: dict[str, Any] = workflow.get(f"/instances/{instance_id}/path")
    except ServiceError as exc:
        if exc.status != 404:
            raise
        return None
    return path


def settling(path: dict[str, Any] | None) -> bool:
    """The process already left review (ended, decided) but the owner has not heard yet: wait, do not offer."""
    return bool(path and path["instance"]["status"] not in ("running", "returned"))


def end_process(business_type: str, request_id: int, done: str) -> None:
    """结束流程: the employer ends the request's process; the request may then be submitted anew."""
    path = process_path(business_type, request_id, None)
    if path is None:
        flash("流程实例不存在", "error")
        return
    try:
        sessions.client("workflow").post(f"/instances/{path['instance']['id']}/end",
                                         {"reason": request.form.get("reason", "").strip() or "单位结束流程"})
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(done, "success")
