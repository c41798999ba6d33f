"""A business's approval process as the employer sees it (opened from 待办, 已办 and 我发起的), for
every business type alike: the path, and for a returned one 重新提交 and 结束流程.

Who may act is the permission the process instance carries (hall_common/business_types.py, stored on
the instance when it started); where a returned business is corrected is the type's own page if the
catalog names one, else this page: the rows read from the owner, resubmitted as they stand through the
owner's generic route. A new business type needs no line here."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from hall_common import business_types
from hall_common.client import ServiceError

from . import session as sessions
from .views import bp, login_required

ROWS_PER_PAGE = 20
NO_RIGHT = "当前账号无权办理该业务"


def _instance(instance_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The path and its instance; the workflow service answers 404 for another employer's process."""
    path: dict[str, Any] = sessions.client("workflow").get(f"/instances/{instance_id}/path")
    return path, path["instance"]


def permitted(instance: dict[str, Any]) -> bool:
    """The operator holds the permission the instance carries (an instance started before it carried
    one: the catalog's for its type)."""
    permission = instance.get("permission") or business_types.permission_of(instance["business_type"])
    return not permission or sessions.permitted(permission)


def _rows(instance: dict[str, Any]) -> dict[str, Any] | None:
    """One page of the business's rows as its owner keeps them, or None if the owner has none to show."""
    page = request.args.get("page", "")
    try:
        rows: dict[str, Any] = sessions.client(instance["owner"]).get(
            f"/businesses/{instance['business_type']}/{instance['business_id']}",
            page=min(int(page), 100_000) if page.isdigit() and int(page) >= 1 else 1, per_page=ROWS_PER_PAGE)
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return None
    return rows


@bp.route("/processes/<int:instance_id>")
@login_required
def process(instance_id: int) -> Any:
    path, instance = _instance(instance_id)
    allowed = permitted(instance)
    returned = instance["status"] == "returned"
    info = business_types.get(instance["business_type"])
    corrected_there = bool(info and info.page and info.corrected_on_page)
    business_page = info.page if info and corrected_there and allowed else None
    # A type not corrected on a page of its own (none yet, or a roster's) is corrected here: its rows,
    # 重新提交 as they stand.
    generic = returned and allowed and not corrected_there
    return render_template("process.html", path=path, instance=instance, business_page=business_page,
                           rows=_rows(instance) if generic else None, may_resubmit=generic,
                           may_end=bool(path.get("can_end")) and returned and allowed)


@bp.route("/processes/<int:instance_id>/end", methods=["POST"])
@login_required
def end_process(instance_id: int) -> Any:
    """结束流程 from 待办's 打开 (manual 2.2.2): the returned business ends; it may be applied for anew.
    The workflow service decides whether this operator may end it (the employer's own, returned)."""
    _, instance = _instance(instance_id)
    if not permitted(instance):
        flash(NO_RIGHT, "error")
        return redirect(url_for("hall.process", instance_id=instance_id))
    try:
        sessions.client("workflow").post(f"/instances/{instance_id}/end",
                                         {"reason": request.form.get("reason", "").strip()[:200] or "单位结束流程"})
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(f"流程已结束，可重新办理{instance['title']}", "success")
    return redirect(url_for("hall.process", instance_id=instance_id))


@bp.route("/processes/<int:instance_id>/resubmit", methods=["POST"])
@login_required
def resubmit_process(instance_id: int) -> Any:
    """重新提交 of a returned business whose type has no page of its own: its owner sends it back into
    the same process as it stands (the owner checks the operator, the permission and the state)."""
    _, instance = _instance(instance_id)
    if not permitted(instance):
        flash(NO_RIGHT, "error")
        return redirect(url_for("hall.process", instance_id=instance_id))
    try:
        result = sessions.client(instance["owner"]).post(
            f"/businesses/{instance['business_type']}/{instance['business_id']}/resubmit")
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(result.get("message") or "已重新提交至中心审核", "success")
    return redirect(url_for("hall.process", instance_id=instance_id))
