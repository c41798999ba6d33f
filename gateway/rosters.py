"""缴存人登记, 封存 and 启封 (manual ch. 8, 10, 11): one roster page serves the three businesses.

The page is drawn from the owner's form spec (``GET /rosters/<type>/form``): the single-entry form
(录入清册), the batch import (下载模板, 上传, its check's progress and errors, 仅导入正确数据 or
放弃本次导入), the roster itself (删除 per row) and the commit button (确认开户, 确定封存, 确定启封).
A new roster business needs its type in ROSTERS (with the member states its picker offers), its
route below, and its entry in the business catalog (page, permission), nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial, wraps
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from hall_common import business_types
from hall_common.client import ServiceClient, ServiceError, gather

from . import session as sessions
from .files import passed_on
from .views import MAX_PAGE, _int_arg, bp, login_required

NO_RIGHT = "当前账号无权办理该业务"
ROWS_PER_PAGE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKING = ("queued", "running")


@dataclass(frozen=True)
class Roster:
    type: str
    endpoint: str
    permission: str
    # The member statuses the type-ahead offers (封存 picks a normal member, 启封 a sealed one).
    search_status: str = ""


def _rosters(types: dict[str, str]) -> dict[str, Roster]:
    """The roster businesses with their page and permission as the catalog declares them."""
    found = {}
    for type_, search_status in types.items():
        info = business_types.get(type_)
        assert info is not None and info.page and info.permission, f"{type_} lacks its page or permission"
        found[type_] = Roster(type_, info.page, info.permission, search_status)
    return found


# Pages of their own: base_adjustment's gateway/base_adjust.py, supplementary_payment's gateway/supplement.py
# (owned by the payment service; a sealed member may still owe months).
ROSTERS = _rosters({"member_registration": "", "member_seal": "01", "member_unseal": "02",
                    "base_adjustment": "01", "supplementary_payment": ""})
# Who may look members up: any page with the picker (the rosters, 缴存人信息查询 and 信息变更).
SEARCH_PERMISSIONS = ("member_register", "seal", "unseal", "member_query", "member_change", "base_adjust",
                      "supplement")


def refusal(exc: ServiceError) -> str:
    """The callee's refusal to show the user; an outage or an ended session goes to the error page."""
    if exc.status >= 500 or exc.status == 401:
        raise exc
    return exc.message


def field_errors(exc: ServiceError) -> dict[str, str]:
    """{field key: its reasons} from a 422's ``errors.json``: the owner's check names the field keys;
    the entry schema's own refusal nests them under ``values``."""
    found: dict[str, str] = {}
    given = exc.errors.get("json") or {}
    if isinstance(given.get("values"), dict):
        given = {**{k: v for k, v in given.items() if k != "values"}, **given["values"]}
    for key, reasons in given.items():
        if isinstance(reasons, dict):
            reasons = [r for value in reasons.values() for r in (value if isinstance(value, list) else [value])]
        found[str(key)] = "；".join(map(str, reasons if isinstance(reasons, list) else [reasons]))
    return found


def _owner(roster: Roster) -> ServiceClient:
    info = business_types.get(roster.type)
    return sessions.client(info.owner if info else "member")


def _employer_no() -> str:
    return str(sessions.principal()["emp"])


def _base(roster: Roster) -> str:
    return f"/employers/{_employer_no()}/rosters/{roster.type}"


def roster_action(view: Callable[..., Any]) -> Callable[..., Any]:
    """An action of a roster page: the type must be one of ROSTERS and the operator hold its permission
    (refused: back home with the message, or for a script a 403 in JSON)."""
    @wraps(view)
    def checked(type_: str, **kwargs: Any) -> Any:
        roster = ROSTERS.get(type_)
        if roster is None:
            raise NotFound()
        if not sessions.permitted(roster.permission):
            if request.accept_mimetypes.best == "application/json":
                return jsonify({"message": NO_RIGHT}), 403
            flash(NO_RIGHT, "error")
            return redirect(url_for("hall.home"))
        return view(roster, **kwargs)
    return login_required(checked)


def _page(type_: str) -> Any:
    return roster_action(_roster_page)(type_)


@bp.route("/members/register", methods=["GET", "POST"])
def member_register() -> Any:
    """缴存人登记 (manual ch. 8)."""
    return _page("member_registration")


@bp.route("/members/seal", methods=["GET", "POST"])
def member_seal() -> Any:
    """封存 (manual ch. 11)."""
    return _page("member_seal")


@bp.route("/members/unseal", methods=["GET", "POST"])
def member_unseal() -> Any:
    """启封 (manual ch. 10)."""
    return _page("member_unseal")


def enter_row(roster: Roster, client: Any, spec: dict[str, Any], fields: dict[str, str],
              echoed: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str], dict[str, str], Any]:
    """录入清册, a roster page's POST: the typed values and the echoed member (kept to show a refused row
    again), each field's reason, and the redirect back once the row is in (None when refused). Every
    field goes, an empty one as "": the owner checks a typed row as it checks an imported one."""
    values = {key: request.form.get(key, "").strip() for key in fields}
    echo = {key: request.form.get(f"echo_{key}", "").strip()[:60] for key in echoed}
    try:
        result = client.post(f"{_base(roster)}/rows", {"values": values})
    except ServiceError as exc:
        flash(refusal(exc), "error")
        return values, echo, field_errors(exc), None
    flash(result.get("message") or spec.get("entry_message") or "录入成功", "success")
    return values, echo, {}, redirect(url_for(roster.endpoint))


def _roster_page(roster: Roster, note: str = "") -> Any:
    """The page; its POST is 录入清册 (a refused row is shown again with its values and each reason).
    ``note``: a line under the title (补缴: the unallocated amount that pays it)."""
    client = _owner(roster)
    spec: dict[str, Any] = client.get(f"/rosters/{roster.type}/form")
    values = {f["key"]: "" if f.get("default") is None else str(f["default"]) for f in spec["fields"]}
    echo = {"name": "", "id_number": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, echo, errors, entered = enter_row(roster, client, spec, values, tuple(echo))
        if entered is not None:
            return entered
    page = _int_arg("page", 1, MAX_PAGE)
    rows, current = gather(
        partial(client.get, _base(roster), page=page, per_page=ROWS_PER_PAGE),
        partial(client.get, f"{_base(roster)}/imports/current"),
    )
    pager = {"page": page, "total": rows["total"], "per_page": ROWS_PER_PAGE,
             "pages": max(1, -(-rows["total"] // ROWS_PER_PAGE))}
    return render_template("roster.html", roster=roster, spec=spec, values=values, echo=echo, errors=errors,
                           rows=rows, pager=pager, current=current.get("import"), working=WORKING, note=note)


@bp.route("/members/roster/<type_>/rows/<int:row_id>/delete", methods=["POST"])
@roster_action
def roster_delete(roster: Roster, row_id: int) -> Any:
    try:
        result = _owner(roster).delete(f"{_base(roster)}/rows/{row_id}")
    except ServiceError as exc:
        flash(refusal(exc), "error")
    else:
        flash(result.get("message") or "删除成功", "success")
    page = request.form.get("page", "")
    back: dict[str, Any] = {"page": min(int(page), MAX_PAGE)} if page.isdigit() and int(page) > 1 else {}
    return redirect(url_for(roster.endpoint, **back))


@bp.route("/members/roster/<type_>/commit", methods=["POST"])
@roster_action
def roster_commit(roster: Roster) -> Any:
    """The commit button: the chosen rows (scope "selected") or every row ([] for scope "all")."""
    chosen = [int(v) for v in request.form.getlist("row_ids") if v.isdigit() and len(v) <= 18]
    if request.form.get("scope") == "selected" and not chosen:
        flash("请先勾选清册中的记录", "error")
        return redirect(url_for(roster.endpoint))
    try:
        result = _owner(roster).post(f"{_base(roster)}/commit", {"row_ids": chosen})
    except ServiceError as exc:
        flash(refusal(exc), "error")
    else:
        flash(result.get("message") or "提交成功", "success")
    return redirect(url_for(roster.endpoint))


@bp.route("/members/roster/<type_>/template")
@roster_action
def roster_template(roster: Roster) -> Any:
    """下载模板, streamed from the owner."""
    option = request.args.get("option", "").strip()
    return passed_on(_owner(roster), f"{_base(roster)}/template", {"option": option} if option else None)


@bp.route("/members/roster/<type_>/imports", methods=["POST"])
@roster_action
def roster_upload(roster: Roster) -> Any:
    """上传: the chosen file's bytes go on as they are (the gateway's body limit bounds them); the owner
    checks a small file at once and queues a large one."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的文件", "error")
        return redirect(url_for(roster.endpoint))
    params = {"option": request.form.get("option", "").strip()[:20], "file_name": upload.filename[-200:]}
    try:
        result = _owner(roster).upload(f"{_base(roster)}/imports", upload.read(), XLSX, params=params)
    except ServiceError as exc:
        flash(refusal(exc), "error")
        return redirect(url_for(roster.endpoint))
    found = result.get("import") or {}
    status = found.get("status")
    default = {"added": "导入成功", "checked": "文件检查发现错误，请查看错误信息",
               "queued": "文件已上传，正在检查"}.get(status or "", "文件已上传")
    flash(result.get("message") or found.get("message") or default,
          "success" if status in ("added", "queued", "running") else "error")
    return redirect(url_for(roster.endpoint))


def _import(roster: Roster, import_id: int) -> dict[str, Any]:
    """The import, if it is this employer's (the owner checks) and of this page's business."""
    found: dict[str, Any] = _owner(roster).get(f"/employers/{_employer_no()}/imports/{import_id}")["import"]
    if found.get("business_type") != roster.type:
        raise NotFound()
    return found


@bp.route("/members/roster/<type_>/imports/<int:import_id>")
@roster_action
def roster_import(roster: Roster, import_id: int) -> Any:
    """The import's progress, for the page's script (static/imports.js) while it is checked."""
    try:
        found = _import(roster, import_id)
    except ServiceError as exc:
        return jsonify({"message": refusal(exc)}), exc.status
    except NotFound:
        return jsonify({"message": "导入记录不存在"}), 404
    return jsonify({"import": {k: found.get(k) for k in ("id", "status", "total", "done", "good", "bad", "message")}})


@bp.route("/members/roster/<type_>/imports/<int:import_id>/marked")
@roster_action
def roster_marked(roster: Roster, import_id: int) -> Any:
    """下载错误标注文件: the uploaded sheet with each bad cell marked, streamed from the owner."""
    _import(roster, import_id)
    return passed_on(_owner(roster), f"/employers/{_employer_no()}/imports/{import_id}/marked")


@bp.route("/members/roster/<type_>/imports/<int:import_id>/<any(accept, discard):action>", methods=["POST"])
@roster_action
def roster_settle(roster: Roster, import_id: int, action: str) -> Any:
    """仅导入正确数据 (accept) or 放弃本次导入 (discard)."""
    try:
        _import(roster, import_id)
        result = _owner(roster).post(f"/employers/{_employer_no()}/imports/{import_id}/{action}")
    except ServiceError as exc:
        flash(refusal(exc), "error")
    else:
        flash(result.get("message") or ("导入成功" if action == "accept" else "已放弃本次导入"), "success")
    return redirect(url_for(roster.endpoint))


@bp.route("/members/search")
@login_required
def member_search() -> Any:
    """The type-ahead (static/picker.js): up to 10 of the employer's members by name, ID or number."""
    if not any(sessions.permitted(p) for p in SEARCH_PERMISSIONS):
        return jsonify({"message": NO_RIGHT}), 403
    query = request.args.get("q", "").strip()[:30]  # the service's bound
    if not query:
        return jsonify({"items": []})
    status = request.args.get("status", "")
    params = {"q": query, **({"status": status} if status in ("01", "02") else {})}
    try:
        found = sessions.client("member").get(f"/employers/{_employer_no()}/members/search", **params)
    except ServiceError as exc:
        return jsonify({"message": refusal(exc)}), exc.status
    keys = ("member_no", "name", "id_number", "status", "status_name")
    return jsonify({"items": [{k: m.get(k) for k in keys} for m in (found or [])[:10]]})
