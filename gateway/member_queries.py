"""缴存人信息查询 (manual ch. 12): three tabs over the member service's queries, as a QueryPage
(query_pages.py)."""

from __future__ import annotations

from typing import Any

from .query_pages import Filter, Query, QueryPage
from .views import bp, login_required

MEMBER = Filter("member_no", "个人账号", "member")
PAGE = QueryPage("缴存人信息查询", "member_query", "hall.member_query", (
    Query("member-accounts", "缴存人账户信息",
          (Filter("open_from", "开户日期（起）"), Filter("open_to", "开户日期（止）"), MEMBER)),
    Query("member-changes", "缴存人客户信息变更查询",
          (Filter("start_date", "查询日期（起）"), Filter("end_date", "查询日期（止）"), MEMBER)),
    Query("member-status-changes", "缴存人账户状态变更查询",
          (MEMBER, Filter("change_type", "变更类型", "choice", (("03", "开户"), ("04", "启封"), ("05", "封存"))),
           Filter("start_date", "查询日期（起）"), Filter("end_date", "查询日期（止）"))),
))


@bp.route("/members/query")
@login_required
def member_query() -> Any:
    return PAGE.page()


@bp.route("/members/query/<name>/print")
@login_required
def member_query_print(name: str) -> Any:
    """打印: the PDF, opened in the browser (its viewer prints it)."""
    return PAGE.file(name, "print")


@bp.route("/members/query/<name>/export")
@login_required
def member_query_export(name: str) -> Any:
    """数据下载: the xlsx, passed on as the service writes it."""
    return PAGE.file(name, "export")
