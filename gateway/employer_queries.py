"""单位信息查询 (manual ch. 7): 7.1 from the employer service; 7.2 账户信息, 7.3 业务流水 with each
entry's 明细 and the 明细账 print from the payment service; 7.4 单位结息查询 is its own page
(/employer/queries/interest), reached from the last tab. A QueryPage (query_pages.py)."""

from __future__ import annotations

from typing import Any

from .query_pages import FileLink, Filter, Query, QueryPage, RowLink, Summary, Tab
from .views import bp, login_required

DATES = (Filter("start_date", "查询日期（起）"), Filter("end_date", "查询日期（止）"))
BOOKED = (Filter("start_date", "记账日期（起）"), Filter("end_date", "记账日期（止）"))
# DETAIL_TYPES of the payment service (services/payment/models.py), the codes it checks.
DETAIL_TYPES = (("01", "汇缴"), ("02", "补缴"), ("09", "年终结息"), ("99", "其他"))
PERIOD = Summary("/queries/account/period", (
    ("start_date", "开始日期"), ("end_date", "结束日期"), ("opening", "期初余额"), ("increase", "本期增加"),
    ("decrease", "本期减少"), ("closing", "期末余额"), ("unallocated", "未分配金额")))
PAGE = QueryPage("单位信息查询", "employer_query", "hall.employer_query", (
    Query("employer-changes", "单位客户信息变更查询", DATES, owner="employer"),
    Query("account", "单位账户信息查询", BOOKED, owner="payment", summary=PERIOD),
    Query("journal", "单位业务流水查询", (Filter("detail_type", "业务明细类型", "choice", DETAIL_TYPES), *BOOKED),
          owner="payment", row_link=RowLink("明细", "journal-lines", "serial_no"),
          files=(FileLink("打印单位明细账", "ledger"),)),
    Query("journal-lines", "单位业务明细", (Filter("serial_no", "业务流水号", "hidden"),), owner="payment",
          tab=False, parent="journal"),
    Query("ledger", "单位明细账", BOOKED, owner="payment", tab=False, parent="journal"),
), links=(Tab("单位结息查询", "/employer/queries/interest"),))


@bp.route("/employer/queries")
@login_required
def employer_query() -> Any:
    return PAGE.page()


@bp.route("/employer/queries/<name>/print")
@login_required
def employer_query_print(name: str) -> Any:
    """打印: the PDF, opened in the browser (its viewer prints it)."""
    return PAGE.file(name, "print")


@bp.route("/employer/queries/<name>/export")
@login_required
def employer_query_export(name: str) -> Any:
    """数据下载: the xlsx, passed on as the service writes it."""
    return PAGE.file(name, "export")
