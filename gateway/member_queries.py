"""缴存人信息查询 (manual ch. 12): three tabs over the member service's queries (hall_common.queries),
each with its filters, 查询 (a server-paged table), 打印 (the PDF opened in the browser, which prints
it: nothing to install) and 数据下载 (the xlsx, streamed through)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from hall_common.client import ServiceError

from . import session as sessions
from .files import passed_on
from .rosters import NO_RIGHT, refusal
from .views import MAX_PAGE, _int_arg, bp, login_required

PERMISSION = "member_query"
OWNER = "member"
ROWS_PER_PAGE = 20


@dataclass(frozen=True)
class Filter:
    key: str
    label: str
    kind: str = "date"  # date | member (the type-ahead) | choice
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Query:
    name: str  # the service's URL segment
    title: str
    filters: tuple[Filter, ...]


MEMBER = Filter("member_no", "个人账号", "member")
QUERIES = (
    Query("member-accounts", "缴存人账户信息",
          (Filter("open_from", "开户日期（起）"), Filter("open_to", "开户日期（止）"), MEMBER)),
    Query("member-changes", "缴存人客户信息变更查询",
          (Filter("start_date", "查询日期（起）"), Filter("end_date", "查询日期（止）"), MEMBER)),
    Query("member-status-changes", "缴存人账户状态变更查询",
          (MEMBER, Filter("change_type", "变更类型", "choice", (("03", "开户"), ("04", "启封"), ("05", "封存"))),
           Filter("start_date", "查询日期（起）"), Filter("end_date", "查询日期（止）"))),
)
BY_NAME = {q.name: q for q in QUERIES}


def _query(name: str) -> Query:
    found = BY_NAME.get(name)
    if found is None:
        raise NotFound()
    return found


def _filters(query: Query) -> dict[str, str]:
    """The tab's filters as given (bounded; the service validates them)."""
    return {f.key: request.args.get(f.key, "").strip()[:40] for f in query.filters}


def _sent(filters: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in filters.items() if value}


def _refusal(query: Query, exc: ServiceError) -> str:
    """The service's refusal with the filters it names, by their labels on the page."""
    labels = {f.key: f.label for f in query.filters}
    fields = exc.errors.get("query") or {}
    named = [labels.get(key, key) + "：" + "；".join(map(str, reasons))
             for key, reasons in fields.items() if isinstance(reasons, list)]
    return "；".join(named) or refusal(exc)


def _allowed() -> bool:
    if sessions.permitted(PERMISSION):
        return True
    flash(NO_RIGHT, "error")
    return False


@bp.route("/members/query")
@login_required
def member_query() -> Any:
    if not _allowed():
        return redirect(url_for("hall.home"))
    query = BY_NAME.get(request.args.get("tab", ""), QUERIES[0])
    filters = _filters(query)
    run = request.args.get("run") == "1"
    page = _int_arg("page", 1, MAX_PAGE)
    result: dict[str, Any] | None = None
    if run:
        try:
            result = sessions.client(OWNER).get(
                f"/employers/{sessions.principal()['emp']}/queries/{query.name}",
                **_sent(filters), page=page, per_page=ROWS_PER_PAGE)
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(_refusal(query, exc), "error")
    pager = None
    if result is not None:
        pager = {"page": page, "total": result["total"], "pages": max(1, -(-result["total"] // ROWS_PER_PAGE))}
    echo = {key: request.args.get(f"echo_{key}", "").strip()[:60] for key in ("name", "id_number")}
    return render_template("member_query.html", queries=QUERIES, query=query, filters=filters, echo=echo,
                           result=result, pager=pager, per_page=ROWS_PER_PAGE,
                           args={"tab": query.name, "run": "1", **_sent(filters)})


def _file(name: str, kind: str) -> Any:
    if not _allowed():
        return redirect(url_for("hall.home"))
    query = _query(name)
    filters: dict[str, Any] = _sent(_filters(query))
    try:
        return passed_on(sessions.client(OWNER), f"/employers/{sessions.principal()['emp']}/queries/{name}/{kind}",
                         filters or None, inline=kind == "print")
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(_refusal(query, exc), "error")
        return redirect(url_for("hall.member_query", tab=name, run="1", **filters))


@bp.route("/members/query/<name>/print")
@login_required
def member_query_print(name: str) -> Any:
    """打印: the PDF, opened in the browser (its viewer prints it)."""
    return _file(name, "print")


@bp.route("/members/query/<name>/export")
@login_required
def member_query_export(name: str) -> Any:
    """数据下载: the xlsx, passed on as the service writes it."""
    return _file(name, "export")
