"""缴存人信息变更 (manual ch. 9): choose a member, the member echoed (greyed items not editable), edit
the nine items into the 待变更清册 (the cross cancels a row), 保存 submits for approval. A member with a
change in approval shows it read-only with its path; a returned one opens editable with the reviewer's
opinion: 重新提交 or 结束流程. The page is the employer change's (templates/_change_roster.html,
gateway/change_pages.py), configured for a member."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import change_pages
from . import session as sessions
from .views import _int_arg, bp, login_required

PERMISSION = "member_change"
TYPE = "member_change"
PENDING_PER_PAGE = 10
MAX_PENDING_PAGE = 10_000


def _may_change() -> bool:
    if sessions.permitted(PERMISSION):
        return True
    flash("当前账号无权办理该业务", "error")
    return False


def _base() -> str:
    return f"/employers/{sessions.principal()['emp']}/member-changes"


def _member_no() -> str:
    value = (request.form.get("member_no") or request.args.get("member_no") or "").strip()
    return value if value.isascii() and value.isalnum() and len(value) <= 20 else ""


@bp.route("/members/change", methods=["GET", "POST"])
@login_required
def member_change() -> Any:
    if not _may_change():
        return redirect(url_for("hall.home"))
    client = sessions.client("member")
    member_no = _member_no()
    page = _int_arg("page", 1, MAX_PENDING_PAGE)
    pending_list = client.get(_base(), page=page, per_page=PENDING_PER_PAGE)
    total = pending_list["total"]
    pager = {"page": page, "total": total, "pages": max(1, -(-total // PENDING_PER_PAGE))}
    profile: dict[str, Any] | None = None
    if member_no:
        try:
            profile = client.get(f"{_base()}/profile", member_no=member_no)
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(exc.message, "error")
    context: dict[str, Any] = {"profile": profile, "pending_list": pending_list, "pager": pager,
                               "values": {}, "errors": {}, "pending": None, "returned": False, "path": None,
                               "settling": False}
    if profile is not None:
        answer = _member_form(client, profile, context)
        if answer is not None:
            return answer
    return render_template("member_change.html", **context)


def _member_form(client: Any, profile: dict[str, Any], context: dict[str, Any]) -> Any:
    """The chosen member's form (POST: 保存 or 重新提交); fills the page's context, or answers a redirect."""
    pending: dict[str, Any] | None = profile.get("request")
    returned = pending is not None and pending["status"] == "returned"
    kept = {row["field"]: row["new"] for row in pending["changes"]} if pending and returned else {}
    values: dict[str, str] = {}
    if request.method == "POST" and (pending is None or returned):
        values, changes = change_pages.posted(profile["fields"], {})
        if pending is not None:  # returned: its rows replaced
            call = partial(client.request, "PUT", f"{_base()}/{pending['id']}", json={"changes": changes})
        else:
            call = partial(client.post, _base(), {"member_no": profile["member_no"], "changes": changes})
        result, context["errors"] = change_pages.send(call, changes)
        if result is not None:
            flash(result["message"], "success")
            return redirect(url_for("hall.member_change", member_no=profile["member_no"]))
    if pending is not None:  # the read-only roster names a coded value as the live one does ("21 本科")
        pending = {**pending, "changes": _named(profile["fields"], pending["changes"])}
    path = change_pages.process_path(TYPE, pending["id"], pending.get("instance_id")) if pending else None
    shown = {f["name"]: values.get(f["name"], kept.get(f["name"], f["value"])) for f in profile["fields"]}
    context.update(pending=pending, returned=returned, path=path, settling=change_pages.settling(path), values=shown)
    return None


def _named(fields: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {f["name"]: {c["code"]: c["name"] for c in f.get("choices") or []} for f in fields}
    return [{**row, "new": f"{row['new']} {names[row['field']][row['new']]}"}
            if row["new"] in names.get(row["field"], {}) else row for row in rows]


@bp.route("/members/change/<int:request_id>/end", methods=["POST"])
@login_required
def end_member_change(request_id: int) -> Any:
    """结束流程 of a returned member change: the member may then be changed anew."""
    if not _may_change():
        return redirect(url_for("hall.home"))
    change_pages.end_process(TYPE, request_id, "流程已结束，可重新办理缴存人信息变更")
    return redirect(url_for("hall.member_change", member_no=_member_no()))
