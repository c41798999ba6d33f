"""The employer's pages: home with the inboxes, employer info change."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import NotFound

from hall_common import business_types
from hall_common.client import ServiceError, gather
from hall_common.permissions import PERMISSIONS

from . import change_pages
from . import session as sessions
from .homecache import Revoked, home_blocks
from .session import EMPLOYER_KEY

bp = Blueprint("hall", __name__)
login_required = sessions.login_required(EMPLOYER_KEY, "login.login")
BOXES = [("message", "消息"), ("todo", "待办"), ("done", "已办"), ("initiated", "我发起的"), ("read", "已阅")]
# The home page shows the newest few of a box; 更多 opens its full history, this many per page.
HOME_ITEMS = 5
LIST_PER_PAGE = 10
MAX_PAGE = 1_000_000
FILTER_NAMES = {"start_date": "开始日期", "end_date": "结束日期", "business_type": "业务名称", "page": "页码"}
# module permission -> the page that serves it (None: not built yet): 单位基本信息, and each business
# type's own page as the catalog declares it.
MODULE_PAGES: dict[str, str | None] = {
    "employer_info": "hall.employer_info",
    "member_query": "hall.member_query",
    "employer_query": "hall.employer_query",
    **{info.permission: info.page for info in business_types.DEFAULTS if info.permission and info.page},
}
# The employer's registered values the home page's 单位基本信息 shows (beyond its name and number).
SUMMARY_FIELDS = ("credit_code", "status", "open_date", "employer_ratio", "personal_ratio")
# ... and its 经办人 as registered (the logged-in operator is shown beside them).
CONTACT_FIELDS = ("contact_name", "contact_mobile")


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Any:
    directory = current_app.config["VENDOR_DIRS"].get(package)
    if directory is None:
        raise NotFound()
    return send_from_directory(directory, filename)


def _employer_no() -> str:
    return str(sessions.principal()["emp"])


@bp.route("/")
@login_required
def home() -> Any:
    employer_no = _employer_no()
    box = request.args.get("box", "message")
    if box not in dict(BOXES):
        box = "message"
    if request.args.get("page"):  # the home page shows the newest few; a page of the history is 更多's
        return redirect(url_for("hall.inbox_box", box=box, page=_int_arg("page", 1, MAX_PAGE)))
    employer, payment, notify = (sessions.client(name) for name in ("employer", "payment", "notify"))
    operator = _operator_query()
    # From the gateway's read model (gateway/homecache.py); what it lacks, from the three services at
    # once. One notify call: the page of the chosen box carries every box's count for the tabs (我发起的
    # counted for this operator).
    try:
        profile, account, inbox = home_blocks(employer_no, sessions.session_id(), operator.get("initiator", ""), box, (
            partial(employer.get, f"/employers/{employer_no}"),
            partial(payment.get, f"/employers/{employer_no}/account"),
            partial(notify.get, f"/employers/{employer_no}/inbox/{box}", page=1, per_page=HOME_ITEMS, **operator),
        ))
    except Revoked:
        raise ServiceError("gateway", 401, "已退出登录，请重新登录") from None
    return render_template(
        "home.html", profile=profile, account=account, counts=inbox["counts"], inbox=inbox, box=box, boxes=BOXES,
        modules=home_modules(), business_pages=business_pages(), facts=_profile_facts(profile),
    )


@bp.route("/employer/info")
@login_required
def employer_info() -> Any:
    """单位基本信息 (manual ch. 6, opened from the employer's name at the top right): the employer's
    basic customer information, its account (balance, unallocated amount and last remittance month from
    the payment service, headcount by status from the member service) and the operator, read-only."""
    if not sessions.permitted("employer_info"):
        flash("当前账号无权办理该业务", "error")
        return redirect(url_for("hall.home"))
    employer_no = _employer_no()
    profile, account, statuses = gather(
        partial(sessions.client("employer").get, f"/employers/{employer_no}"),
        partial(sessions.client("payment").get, f"/employers/{employer_no}/account"),
        partial(sessions.client("member").get, f"/employers/{employer_no}/status-counts"),
    )
    return render_template("employer_info.html", profile=profile, account=account, statuses=statuses)


def home_modules() -> list[tuple[str, str, str | None]]:
    """The manual's eleven modules in its order (key, name, page endpoint or None while not built),
    only those this account may use."""
    return [(key, label, MODULE_PAGES.get(key)) for key, label in PERMISSIONS.items() if sessions.permitted(key)]


def _operator_query() -> dict[str, str]:
    """我发起的 is the business this operator started (manual ch. 2): notify narrows it by login name;
    the other boxes stay the employer's."""
    login = str(sessions.principal().get("sub") or "")
    return {"initiator": login} if login else {}


def _profile_facts(profile: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The registered values the summary shows, (label, value) in the summary's order, from the profile."""
    fields = {f["name"]: (f["label"], f["value"]) for f in profile.get("fields", [])}
    return {"basic": [fields[name] for name in SUMMARY_FIELDS if name in fields],
            "contact": [fields[name] for name in CONTACT_FIELDS if name in fields]}


def _may_change() -> bool:
    if sessions.permitted("employer_change"):
        return True
    flash("当前账号无权办理该业务", "error")
    return False


@bp.route("/employer/change", methods=["GET", "POST"])
@login_required
def employer_change() -> Any:
    """Submit a change; while one is in approval it shows read-only with its path; a returned one opens
    editable with its data kept and the reviewer's opinion: 重新提交 or 结束流程."""
    if not _may_change():
        return redirect(url_for("hall.home"))
    employer_no = _employer_no()
    client = sessions.client("employer")
    profile = client.get(f"/employers/{employer_no}")
    pending = client.get(f"/employers/{employer_no}/change-requests/current").get("request")
    returned = pending is not None and pending["status"] == "returned"
    # A returned request's corrections are what the form starts from.
    kept = {row["field"]: row["new"] for row in pending["changes"]} if returned else {}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, changes = change_pages.posted(profile["fields"], {})
        if returned:
            call = partial(client.request, "PUT", f"/employers/{employer_no}/change-requests/{pending['id']}",
                           json={"changes": changes})
        else:
            call = partial(client.post, f"/employers/{employer_no}/change-requests", {"changes": changes})
        result, errors = change_pages.send(call, changes)
        if result is not None:
            flash(result["message"], "success")
            return redirect(url_for("hall.employer_change"))
    path = change_pages.process_path("employer_change", pending["id"], pending.get("instance_id")) if pending else None
    values = {f["name"]: values.get(f["name"], kept.get(f["name"], f["value"])) for f in profile["fields"]}
    return render_template("employer_change.html", profile=profile, values=values, errors=errors,
                           pending=pending, returned=returned, path=path, settling=change_pages.settling(path))


@bp.route("/employer/change/<int:request_id>/end", methods=["POST"])
@login_required
def end_change(request_id: int) -> Any:
    """结束流程: the employer ends the request's process; the request may then be submitted anew."""
    if not _may_change():
        return redirect(url_for("hall.home"))
    change_pages.end_process("employer_change", request_id, "流程已结束，可重新办理单位信息变更")
    return redirect(url_for("hall.employer_change"))


@bp.route("/inbox/<box>")
@login_required
def inbox_box(box: str) -> Any:
    """更多: a box's full history, paged on the server, filtered by date and business."""
    if box not in dict(BOXES):
        raise NotFound()
    page = _int_arg("page", 1, MAX_PAGE)
    filters = {key: request.args.get(key, "").strip() for key in ("start_date", "end_date", "business_type")}
    query = {key: value for key, value in filters.items() if value}
    try:
        inbox = sessions.client("notify").get(f"/employers/{_employer_no()}/inbox/{box}", page=page,
                                              per_page=LIST_PER_PAGE, **query, **_operator_query())
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(_field_message(exc), "error")
        inbox = {"items": [], "total": 0, "counts": None}
    pager = {"page": page, "total": inbox["total"], "pages": max(1, -(-inbox["total"] // LIST_PER_PAGE))}
    return render_template("inbox_list.html", box=box, box_name=dict(BOXES)[box], boxes=BOXES, inbox=inbox,
                           pager=pager, filters=filters, business_types=_business_types(),
                           business_pages=business_pages())


def _int_arg(name: str, default: int, largest: int) -> int:
    value = request.args.get(name, "")
    return min(int(value), largest) if value.isdigit() and int(value) >= 1 else default


def _field_message(exc: ServiceError) -> str:
    """The service's refusal with the field it names (a query's date, say)."""
    fields = exc.errors.get("query") or exc.errors.get("json") or {}
    found = [FILTER_NAMES.get(name, name) + "：" + "；".join(map(str, messages))
             for name, messages in fields.items() if isinstance(messages, list)]
    return "；".join(found) or exc.message


def _business_types() -> list[tuple[str, str]]:
    """The businesses an item can be about, by the type the boxes store: pushes and every business type."""
    return [("push", "中心通知"), *((info.type, info.title) for info in business_types.all_types())]


def business_pages() -> dict[str, str]:
    """business type -> its own page, for the types this account may handle (待办's 办理)."""
    return {info.type: info.page for info in business_types.all_types()
            if info.page and info.corrected_on_page and (not info.permission or sessions.permitted(info.permission))}


@bp.route("/inbox/<int:item_id>")
@login_required
def inbox_item(item_id: int) -> Any:
    item = sessions.client("notify").get(f"/employers/{_employer_no()}/inbox-items/{item_id}")
    return render_template("inbox_item.html", item=item)


@bp.route("/inbox/<int:item_id>/read", methods=["POST"])
@login_required
def mark_read(item_id: int) -> Any:
    result = sessions.client("notify").post(f"/employers/{_employer_no()}/inbox-items/{item_id}/read")
    flash(result["message"], "success")
    return redirect(url_for("hall.home"))


@bp.route("/inbox/<int:item_id>/delete", methods=["POST"])
@login_required
def delete_item(item_id: int) -> Any:
    result = sessions.client("notify").delete(f"/employers/{_employer_no()}/inbox-items/{item_id}")
    flash(result["message"], "success")
    box = request.form.get("box", "message")
    box = box if box in ("message", "read") else "message"
    page = request.form.get("page", "")
    # Back where the click came from: the full list (at its page) or the home page's tab.
    if page.isdigit():
        return redirect(url_for("hall.inbox_box", box=box, page=min(int(page), MAX_PAGE)))
    return redirect(url_for("hall.home", box=box))
