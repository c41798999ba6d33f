"""The admin console's 政策参数 page: the center's policy versions (limits of the base, the monthly amount
and both ratios; the monthly amount's rounding; the interest rates), newest first; a version is added
from a later date, and one not yet in force may be edited (修改) or deleted (删除, confirmed first).
Needs the center permission 政策参数; the member service checks it again, refuses an edit of a version
in force or past, and audits every change with the version before and after (审计日志)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("policy", __name__, url_prefix="/admin/policy")

PER_PAGE = 50
MAX_PAGE = 1000
# The form's fields, as the member service's API names them (ratios and rates in percent).
FIELDS = ("effective_from", "base_min", "base_max", "amount_min", "amount_max", "employer_ratio_min_pct",
          "employer_ratio_max_pct", "personal_ratio_min_pct", "personal_ratio_max_pct", "amount_places",
          "rounding", "current_rate_pct", "carried_rate_pct", "note")
PLACES = {"0.01": "到分", "1": "到元"}
ROUNDINGS = {"ROUND_HALF_UP": "四舍五入", "ROUND_DOWN": "舍去", "ROUND_UP": "进位", "ROUND_HALF_EVEN": "四舍六入五成双"}
BLANK = {key: "" for key in FIELDS} | {"amount_places": "0.01", "rounding": "ROUND_HALF_UP"}


def _member() -> Any:
    return sessions.client("member", CENTER_KEY)


def _page(form: dict[str, Any], editing: dict[str, Any] | None = None, status: int = 200,
          errors: dict[str, str] | None = None) -> Any:
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    listed = _member().get("/policy/versions", page=page, per_page=PER_PAGE)
    return render_template("admin/policy.html", versions=listed["items"], total=listed["total"], page=page,
                           pages=max(1, -(-listed["total"] // PER_PAGE)), form=form, editing=editing,
                           errors=errors or {}, places=PLACES, roundings=ROUNDINGS), status


def _posted() -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in FIELDS}


def _refused(exc: ServiceError) -> dict[str, str]:
    """The service's refusal, field by field (shown beside each input), after its one-line message."""
    if exc.status >= 500 or exc.status == 401:
        raise exc
    flash(exc.message, "error")
    fields = exc.errors.get("json", {}) if isinstance(exc.errors, dict) else {}
    return {key: "；".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in fields.items()}


@bp.route("/")
@console("policy")
def versions() -> Any:
    edit = request.args.get("edit", type=int)
    if edit:
        try:
            version = _member().get(f"/policy/versions/{edit}")
        except ServiceError as exc:
            _refused(exc)
            return redirect(url_for("policy.versions"))
        if not version["editable"]:
            flash("该版本已生效，已生效或已失效的政策参数不得修改或删除，请新增一个版本", "error")
            return redirect(url_for("policy.versions"))
        return _page({key: str(version.get(key, "")) for key in FIELDS}, editing=version)
    return _page(dict(BLANK))


@bp.route("/", methods=["POST"])
@console("policy")
def create() -> Any:
    form = _posted()
    try:
        _member().post("/policy/versions", form)
    except ServiceError as exc:
        return _page(form, status=422, errors=_refused(exc))  # the refused input stays in the form
    flash(f"已新增政策参数版本，自 {form['effective_from']} 起生效", "success")
    return redirect(url_for("policy.versions"))


@bp.route("/<int:version_id>", methods=["POST"])
@console("policy")
def update(version_id: int) -> Any:
    form = _posted()
    try:
        _member().request("PUT", f"/policy/versions/{version_id}", json=form)
    except ServiceError as exc:
        errors = _refused(exc)
        if exc.status in (404, 409) and not errors:  # gone or in force by now: back to the list
            return redirect(url_for("policy.versions"))
        return _page(form, editing={"id": version_id, "effective_from": form["effective_from"]}, status=422,
                     errors=errors)
    flash(f"已修改自 {form['effective_from']} 起生效的政策参数版本", "success")
    return redirect(url_for("policy.versions"))


@bp.route("/<int:version_id>/delete", methods=["POST"])
@console("policy")
def delete(version_id: int) -> Any:
    try:
        _member().delete(f"/policy/versions/{version_id}")
    except ServiceError as exc:
        _refused(exc)
    else:
        flash(f"已删除自 {request.form.get('effective_from', '')} 起生效的政策参数版本", "success")
    return redirect(url_for("policy.versions"))
