"""单位信息查询 (manual ch. 7) of the payment service, each paged, printed and downloaded through
hall_common.queries: 7.2 单位账户信息 (account_view), 7.3 单位业务流水 with the 明细 of one entry,
and the 明细账 (the employer account's ledger: one line per journal entry, with its running balance).

Member names in a 明细 are the member service's, read as the rows are shown (readers.py). The money
prints state a prints.Document (kind, period, totals) so they can be verified."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.prints import Document
from hall_common.queries import QueryDef, caption_of, page_of, stream_of
from hall_common.sheets import SheetColumn

from . import readers
from .account_view import account_periods, day_before, period_bounds
from .ledger import ZERO, balance_on
from .models import DETAIL_TYPES, JournalEntry, JournalLine

PERMISSION = "employer_query"
ENTRY_MISSING = "业务流水不存在"
Page = tuple[list[dict[str, Any]], int]
Rows = Select[*tuple[Any, ...]]  # a select of any columns


class PeriodFilters(Schema):
    start_date = fields.Date(load_default=None, metadata={"description": "记账日期起（默认本年1月1日）"})
    end_date = fields.Date(load_default=None, metadata={"description": "记账日期止（默认今天）"})


class JournalFilters(Schema):
    detail_type = fields.String(load_default="", validate=validate.OneOf(["", *DETAIL_TYPES],
                                                                          error="业务明细类型不正确"))
    start_date = fields.Date(load_default=None)
    end_date = fields.Date(load_default=None)


class EntryFilters(Schema):
    serial_no = fields.String(required=True, validate=validate.Length(1, 24, error="业务流水号不正确"),
                              error_messages={"required": "请选择一条业务流水"})


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _period_text(start: date | None, end: date | None) -> str:
    if not start and not end:
        return "全部"
    return f"{start or '最早'} 至 {end or '今'}"


# -- 7.2 单位账户信息 --------------------------------------------------------------------------------

ACCOUNT_COLUMNS = (
    SheetColumn("period", "期间", width=26), SheetColumn("opening", "期初余额", "money"),
    SheetColumn("increase", "本期增加", "money"), SheetColumn("decrease", "本期减少", "money"),
    SheetColumn("closing", "期末余额", "money"), SheetColumn("unallocated", "未分配金额", "money"),
)
ACCOUNT_KEYS = tuple(c.key for c in ACCOUNT_COLUMNS)


def account_summary(employer_no: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The whole period's figures (the page shows them above the months)."""
    whole, _ = account_periods(employer_no, *period_bounds(filters))
    return whole.row()


def _account_rows(employer_no: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    _, months = account_periods(employer_no, *period_bounds(filters))
    return [{key: m.row()[key] for key in ACCOUNT_KEYS} for m in months]


def fetch_account(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows = _account_rows(employer_no, filters)  # one row a month: a century is 1,200 rows
    return rows[(page - 1) * per_page: page * per_page], len(rows)


def iterate_account(employer_no: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return _account_rows(employer_no, filters)


def account_document(employer_no: str, filters: dict[str, Any]) -> Document:
    whole, _ = account_periods(employer_no, *period_bounds(filters))
    return Document(employer_no, readers.employer_name(employer_no), "单位账户信息", f"{whole.start} 至 {whole.end}",
                    {"期初余额": _money(whole.opening), "本期增加": _money(whole.increase),
                     "本期减少": _money(whole.decrease), "期末余额": _money(whole.closing),
                     "未分配金额": _money(whole.unallocated)})


# -- 7.3 单位业务流水 --------------------------------------------------------------------------------

JOURNAL_COLUMNS = (
    SheetColumn("serial_no", "业务流水号", "code", width=20), SheetColumn("booking_date", "记账日期", "date"),
    SheetColumn("detail_type", "业务明细类型", width=12), SheetColumn("summary", "摘要", width=24),
    SheetColumn("amount", "发生额", "money"), SheetColumn("interest", "利息额", "money"),
    SheetColumn("headcount", "人数", width=8),
)
_ENTRY_FIELDS = (JournalEntry.serial_no, JournalEntry.booking_date, JournalEntry.detail_type, JournalEntry.summary,
                 JournalEntry.amount, JournalEntry.interest, JournalEntry.headcount)


def _entries_where(query: Rows, employer_no: str, filters: dict[str, Any]) -> Rows:
    query = query.where(JournalEntry.employer_no == employer_no)
    if filters.get("detail_type"):
        query = query.where(JournalEntry.detail_type == filters["detail_type"])
    if filters.get("start_date"):
        query = query.where(JournalEntry.booking_date >= filters["start_date"])
    if filters.get("end_date"):
        query = query.where(JournalEntry.booking_date <= filters["end_date"])
    return query


def _journal(employer_no: str, filters: dict[str, Any]) -> Rows:
    # Newest first, on the (employer_no, booking_date, id) index.
    return _entries_where(select(*_ENTRY_FIELDS), employer_no, filters).order_by(
        JournalEntry.booking_date.desc(), JournalEntry.id.desc())


def _journal_row(row: Any) -> dict[str, Any]:
    serial, booked_on, detail_type, summary, amount, interest, headcount = row
    return {"serial_no": serial, "booking_date": booked_on, "detail_type": DETAIL_TYPES.get(detail_type, detail_type),
            "summary": summary, "amount": amount, "interest": interest, "headcount": headcount}


def fetch_journal(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows, total = page_of(_journal(employer_no, filters), page, per_page)
    return [_journal_row(r) for r in rows], total


def iterate_journal(employer_no: str, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (_journal_row(r) for r in stream_of(_journal(employer_no, filters)))


def journal_document(employer_no: str, filters: dict[str, Any]) -> Document:
    totals: Rows = select(func.count(), func.coalesce(func.sum(JournalEntry.amount), ZERO),
                          func.coalesce(func.sum(JournalEntry.interest), ZERO))
    count, amount, interest = db.session().execute(_entries_where(totals, employer_no, filters)).one()
    kind = DETAIL_TYPES.get(filters.get("detail_type") or "", "全部")
    return Document(employer_no, readers.employer_name(employer_no), "业务流水",
                    _period_text(filters.get("start_date"), filters.get("end_date")),
                    {"业务明细类型": kind, "笔数": str(count), "发生额合计": _money(Decimal(amount)),
                     "利息额合计": _money(Decimal(interest))})


# -- 明细 of one entry -----------------------------------------------------------------------------

LINE_COLUMNS = (
    SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
    SheetColumn("booking_date", "记账日期", "date"), SheetColumn("amount", "发生额", "money"),
    SheetColumn("interest", "发生利息额", "money"), SheetColumn("detail_type", "业务明细类型"),
)


def _entry(employer_no: str, serial_no: str) -> JournalEntry:
    """The employer's own entry; another employer's serial number answers as missing."""
    entry = db.session().scalar(select(JournalEntry).where(JournalEntry.serial_no == serial_no))
    if entry is None or entry.employer_no != employer_no:
        raise BusinessError(ENTRY_MISSING, 404)
    return entry


def _lines(entry: JournalEntry) -> Rows:
    return (select(JournalLine.member_no, JournalLine.booking_date, JournalLine.amount, JournalLine.interest,
                   JournalLine.detail_type).where(JournalLine.entry_id == entry.id).order_by(JournalLine.id))


def _line_row(row: Any) -> dict[str, Any]:
    member_no, booked_on, amount, interest, detail_type = row
    return {"member_no": member_no, "booking_date": booked_on, "amount": amount, "interest": interest,
            "detail_type": DETAIL_TYPES.get(detail_type, detail_type)}


def fetch_lines(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows, total = page_of(_lines(_entry(employer_no, filters["serial_no"])), page, per_page)
    return list(readers.with_names(employer_no, (_line_row(r) for r in rows))), total


def iterate_lines(employer_no: str, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    entry = _entry(employer_no, filters["serial_no"])  # refused before the file starts
    return readers.with_names(employer_no, (_line_row(r) for r in stream_of(_lines(entry))))


def lines_document(employer_no: str, filters: dict[str, Any]) -> Document:
    entry = _entry(employer_no, filters["serial_no"])
    return Document(employer_no, readers.employer_name(employer_no), "业务明细", str(entry.booking_date),
                    {"业务流水号": entry.serial_no, "摘要": entry.summary, "人数": str(entry.headcount),
                     "发生额": _money(entry.amount), "利息额": _money(entry.interest)})


def _lines_caption(filters: dict[str, Any]) -> list[str]:
    return [f"业务流水号：{filters['serial_no']}"]


# -- 明细账 ----------------------------------------------------------------------------------------

LEDGER_COLUMNS = (
    SheetColumn("booking_date", "记账日期", "date"), SheetColumn("serial_no", "业务流水号", "code", width=20),
    SheetColumn("summary", "摘要", width=24), SheetColumn("detail_type", "业务明细类型", width=12),
    SheetColumn("increase", "增加额", "money"), SheetColumn("decrease", "减少额", "money"),
    SheetColumn("balance", "余额", "money"),
)


def _ledger(employer_no: str, start: date, end: date) -> Rows:
    signed = JournalEntry.amount + JournalEntry.interest
    order = (JournalEntry.booking_date, JournalEntry.id)
    return (select(JournalEntry.booking_date, JournalEntry.serial_no, JournalEntry.summary, JournalEntry.detail_type,
                   signed, func.sum(signed).over(order_by=order))
            .where(JournalEntry.employer_no == employer_no, JournalEntry.booking_date >= start,
                   JournalEntry.booking_date <= end).order_by(*order))


def _ledger_row(row: Any, opening: Decimal) -> dict[str, Any]:
    booked_on, serial, summary, detail_type, signed, running = row
    signed = Decimal(signed)
    return {"booking_date": booked_on, "serial_no": serial, "summary": summary,
            "detail_type": DETAIL_TYPES.get(detail_type, detail_type),
            "increase": signed if signed >= 0 else ZERO, "decrease": -signed if signed < 0 else ZERO,
            "balance": opening + Decimal(running)}


def _opening(employer_no: str, start: date) -> Decimal:
    before = day_before(start)
    return balance_on(db.session(), employer_no, before) if before else ZERO


def fetch_ledger(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    start, end = period_bounds(filters)
    rows, total = page_of(_ledger(employer_no, start, end), page, per_page)
    opening = _opening(employer_no, start)
    return [_ledger_row(r, opening) for r in rows], total


def iterate_ledger(employer_no: str, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    start, end = period_bounds(filters)
    opening = _opening(employer_no, start)
    yield {"booking_date": start, "summary": "期初余额", "balance": opening}
    for row in stream_of(_ledger(employer_no, start, end)):
        yield _ledger_row(row, opening)


def ledger_document(employer_no: str, filters: dict[str, Any]) -> Document:
    whole, _ = account_periods(employer_no, *period_bounds(filters))
    return Document(employer_no, readers.employer_name(employer_no), "明细账", f"{whole.start} 至 {whole.end}",
                    {"期初余额": _money(whole.opening), "本期增加": _money(whole.increase),
                     "本期减少": _money(whole.decrease), "期末余额": _money(whole.closing)})


PERIOD_CAPTION = caption_of({"start_date": "开始日期", "end_date": "结束日期"})
DATES_CAPTION = caption_of({"detail_type": "业务明细类型", "start_date": "开始日期", "end_date": "结束日期"})
ACCOUNT = QueryDef("account", "单位账户信息查询", PERMISSION, PeriodFilters, ACCOUNT_COLUMNS, fetch_account,
                   iterate_account, PERIOD_CAPTION, account_document)
JOURNAL = QueryDef("journal", "单位业务流水查询", PERMISSION, JournalFilters, JOURNAL_COLUMNS, fetch_journal,
                   iterate_journal, lambda f: DATES_CAPTION({**f, "detail_type": DETAIL_TYPES.get(f["detail_type"])}),
                   journal_document)
QUERIES = (
    ACCOUNT,
    JOURNAL,
    QueryDef("journal-lines", "单位业务明细", PERMISSION, EntryFilters, LINE_COLUMNS, fetch_lines, iterate_lines,
             _lines_caption, lines_document),
    QueryDef("ledger", "单位明细账", PERMISSION, PeriodFilters, LEDGER_COLUMNS, fetch_ledger, iterate_ledger,
             PERIOD_CAPTION, ledger_document),
)
