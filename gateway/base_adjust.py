"""基数调整 (manual ch. 4): one page with its three ways in, the roster below them.

- 单笔录入: the member picker, the member's name, ID, current base and monthly amount echoed, the category
  (个人缴存基数, 月缴存额, 缴存比例) and its new value, the figures it gives shown as they are typed (the
  owner's preview, the same check 录入清册 meets), then 录入清册.
- 批量录入: the grid of the employer's 正常 members for a category, 搜索 by name or number; a cell left
  records the member's row in the roster at once (the owner's upsert by member) and shows the new amount.
- 批量导入: the category's template, the upload, its errors and marked workbook (the roster pages' own
  routes in gateway/rosters.py, which come back here).

The roster (删除 with 确定 / 取消, 保存 of the ticked rows) is the roster pages' too.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from flask import flash, jsonify, render_template, request

from hall_common.client import ServiceError, gather

from .rosters import (
    ROWS_PER_PAGE,
    WORKING,
    Roster,
    _base,
    _employer_no,
    _owner,
    enter_row,
    field_errors,
    refusal,
    roster_action,
)
from .views import MAX_PAGE, _int_arg, bp

TYPE = "base_adjustment"
TABS = (("single", "单笔录入"), ("grid", "批量录入"), ("import", "批量导入"))
CATEGORIES = ("base", "amount", "ratio")
GRID_PER_PAGE = 20
# An import still to settle is what the page shows first (its progress, its errors).
UNSETTLED = ("queued", "running", "checked", "failed")
ECHO = ("name", "id_number", "base", "amount")


def _grid_path() -> str:
    return f"/employers/{_employer_no()}/base-adjustment"


@bp.route("/members/base-adjust", methods=["GET", "POST"])
def member_base_adjust() -> Any:
    """基数调整 (manual ch. 4)."""
    return roster_action(_page)(TYPE)


def _page(roster: Roster) -> Any:
    """The page; its POST is 录入清册 (a refused row is shown again with its values and each reason)."""
    client = _owner(roster)
    spec: dict[str, Any] = client.get(f"/rosters/{TYPE}/form")
    values = {f["key"]: "" if f.get("default") is None else str(f["default"]) for f in spec["fields"]}
    values["effective_month"] = values.get("effective_month") or f"{date.today():%Y%m}"
    echo = dict.fromkeys(ECHO, "")
    errors: dict[str, str] = {}
    tab = request.args.get("tab", "")
    if request.method == "POST":
        tab = "single"
        values, echo, errors, entered = enter_row(roster, client, spec, values, tuple(ECHO))
        if entered is not None:
            return entered
    page = _int_arg("page", 1, MAX_PAGE)
    rows, current = gather(
        partial(client.get, _base(roster), page=page, per_page=ROWS_PER_PAGE),
        partial(client.get, f"{_base(roster)}/imports/current"),
    )
    current = current.get("import")
    if tab not in dict(TABS):
        tab = "import" if current and current.get("status") in UNSETTLED else "single"
    grid, grid_query = None, {}
    if tab == "grid":
        grid_query = {"category": request.args.get("category", "base"), "q": request.args.get("q", "").strip()[:30]}
        if grid_query["category"] not in CATEGORIES:
            grid_query["category"] = "base"
        grid_page = _int_arg("grid_page", 1, MAX_PAGE)
        try:
            grid = client.get(f"{_grid_path()}/grid", page=grid_page, per_page=GRID_PER_PAGE, **grid_query)
        except ServiceError as exc:
            flash(refusal(exc), "error")
        else:
            grid["pages"] = max(1, -(-grid["total"] // GRID_PER_PAGE))
    pager = {"page": page, "total": rows["total"], "per_page": ROWS_PER_PAGE,
             "pages": max(1, -(-rows["total"] // ROWS_PER_PAGE))}
    return render_template("base_adjust.html", roster=roster, spec=spec, values=values, echo=echo, errors=errors,
                           rows=rows, pager=pager, current=current, working=WORKING, tab=tab, tabs=TABS,
                           grid=grid, grid_query=grid_query, this_month=f"{date.today():%Y%m}")


def _json_refusal(exc: ServiceError) -> Any:
    return jsonify({"message": refusal(exc), "errors": field_errors(exc)}), exc.status


def _values() -> dict[str, str]:
    """The JSON body's values as text, bounded as the owner bounds them."""
    body = request.get_json(silent=True) or {}
    given = body.get("values") if isinstance(body, dict) else None
    if not isinstance(given, dict):
        return {}
    return {str(k)[:40]: str(v)[:200] for k, v in list(given.items())[:40] if isinstance(v, str | int)}


@bp.route("/members/base-adjust/member")
def base_adjust_member() -> Any:
    """单笔录入's echo: the chosen member's name, ID, current base, ratios and monthly amount."""
    return roster_action(_member)(TYPE)


def _member(roster: Roster) -> Any:
    member_no = request.args.get("member_no", "").strip()[:20]
    if not member_no.isalnum():
        return jsonify({"message": "请选择缴存人"}), 422
    try:
        found = _owner(roster).get(f"{_grid_path()}/grid", member_no=member_no, per_page=1)
    except ServiceError as exc:
        return _json_refusal(exc)
    if not found["items"]:
        return jsonify({"message": "该缴存人不存在或状态不是正常，不能办理基数调整"}), 404
    return jsonify({"member": found["items"][0]})


@bp.route("/members/base-adjust/preview", methods=["POST"])
def base_adjust_preview() -> Any:
    """The figures the typed row gives (or why it would be refused), before 录入清册."""
    return roster_action(_preview)(TYPE)


def _preview(roster: Roster) -> Any:
    try:
        return jsonify(_owner(roster).post(f"{_grid_path()}/preview", {"values": _values()}))
    except ServiceError as exc:
        return _json_refusal(exc)


@bp.route("/members/base-adjust/grid/<member_no>", methods=["POST"])
def base_adjust_record(member_no: str) -> Any:
    """批量录入: a cell left records the member's row in the roster (replacing its earlier draft)."""
    return roster_action(_record)(TYPE, member_no=member_no)


def _record(roster: Roster, member_no: str) -> Any:
    if not member_no.isalnum() or len(member_no) > 20:
        return jsonify({"message": "个人账号格式不正确"}), 404
    try:
        return jsonify(_owner(roster).request("PUT", f"{_base(roster)}/rows/by-claim/{member_no}",
                                              json={"values": _values()}))
    except ServiceError as exc:
        return _json_refusal(exc)

