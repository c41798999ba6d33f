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
from .rosters import field_errors
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


def _page() -> int:
    page = request.args.get("page", "")
    return min(int(page), 100_000) if page.isdigit() and int(page) >= 1 else 1


def _roster_path(instance: dict[str, Any]) -> str:
    return (f"/employers/{instance['employer_no']}/rosters/{instance['business_type']}"
            f"/businesses/{instance['business_id']}/rows")


def _rows(instance: dict[str, Any]) -> dict[str, Any] | None:
    """One page of the business's rows as its owner keeps them, or None if the owner has none to show.
    A roster business's rows come with their ids and values, to be corrected here while returned."""
    owner = sessions.client(instance["owner"])
    for path in (_roster_path(instance), f"/businesses/{instance['business_type']}/{instance['business_id']}"):
        try:
            rows: dict[str, Any] = owner.get(path, page=_page(), per_page=ROWS_PER_PAGE)
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            continue  # not a roster business (or not this owner's): its plain rows
        return rows
    return None


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


def _correctable(instance_id: int) -> dict[str, Any] | None:
    """The instance if this operator may correct its rows here (returned, a roster business, allowed)."""
    _, instance = _instance(instance_id)
    if not permitted(instance):
        flash(NO_RIGHT, "error")
        return None
    return instance if instance["status"] == "returned" else None


@bp.route("/processes/<int:instance_id>/rows/<int:row_id>", methods=["GET", "POST"])
@login_required
def correct_row(instance_id: int, row_id: int) -> Any:
    """修改 one row of a returned roster business: the type's form, filled with the row's values."""
    instance = _correctable(instance_id)
    if instance is None:
        return redirect(url_for("hall.process", instance_id=instance_id))
    owner = sessions.client(instance["owner"])
    form = owner.get(f"/rosters/{instance['business_type']}/form")
    listed = owner.get(_roster_path(instance), page=_page(), per_page=ROWS_PER_PAGE)
    row = next((r for r in listed["items"] if r["id"] == row_id), None)
    if row is None:
        flash("该记录不在此业务中，请刷新后查看", "error")
        return redirect(url_for("hall.process", instance_id=instance_id))
    values = dict(row["values"])
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {f["key"]: request.form.get(f["key"], "").strip()[:200] for f in form["fields"]}
        try:
            owner.request("PUT", f"{_roster_path(instance)}/{row_id}", json={"values": values})
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(exc.message, "error")
            errors = field_errors(exc)
        else:
            flash("修改成功，可继续修改或重新提交", "success")
            return redirect(url_for("hall.process", instance_id=instance_id, page=_page()))
    return render_template("process_row.html", instance=instance, form=form, values=values, errors=errors,
                           row_id=row_id, page=_page())


@bp.route("/processes/<int:instance_id>/rows/<int:row_id>/delete", methods=["POST"])
@login_required
def remove_row(instance_id: int, row_id: int) -> Any:
    instance = _correctable(instance_id)
    if instance is not None:
        try:
            sessions.client(instance["owner"]).request("DELETE", f"{_roster_path(instance)}/{row_id}")
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(exc.message, "error")
        else:
            flash("删除成功", "success")
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
