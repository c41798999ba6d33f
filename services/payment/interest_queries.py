"""7.4 单位结息查询: the employer's interest bookings by year (a QueryDef: list, export, print), the
利息单 (interest slip: each member's carried balance, balance product and interest of one year) and
the 对账单 (statement of one interest year: opening balance, movements by type, interest, closing).

All of it is read from the journal, so the slip's interest is what was booked and the statement
balances with 7.3's journal to the fen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.prints import Document
from hall_common.queries import QueryDef
from hall_common.security import current_principal
from hall_common.sheets import SheetColumn

from . import ledger
from .interest import INTEREST_TYPE, Year, products
from .models import DETAIL_TYPES, JournalEntry, JournalLine

PERMISSION = "employer_query"
NOT_SETTLED = "该年度尚未结息"
YEAR_RANGE = validate.Range(2000, 2100, error="年度应为2000到2100之间的年份")


class InterestFilters(Schema):
    year = fields.Integer(load_default=None, validate=YEAR_RANGE, metadata={"description": "结息年度（截至6月30日）"},
                          error_messages={"invalid": "年度应为2000到2100之间的年份"})


COLUMNS = (
    SheetColumn("serial_no", "业务流水号", "code", width=22), SheetColumn("booking_date", "记账日期", "date"),
    SheetColumn("summary", "摘要", width=24), SheetColumn("amount", "发生额", "money"),
    SheetColumn("interest", "利息额", "money"), SheetColumn("headcount", "人数", "code", width=8),
)


def _entries(employer_no: str, filters: dict[str, Any]) -> Select[Any]:
    query = select(JournalEntry).where(JournalEntry.employer_no == employer_no,
                                       JournalEntry.detail_type == INTEREST_TYPE)
    if filters.get("year"):
        query = query.where(JournalEntry.booking_date == Year(filters["year"]).end)
    return query.order_by(JournalEntry.booking_date.desc(), JournalEntry.id.desc())


def _row(entry: JournalEntry) -> dict[str, Any]:
    return {"serial_no": entry.serial_no, "booking_date": entry.booking_date, "summary": entry.summary,
            "amount": entry.amount, "interest": entry.interest, "headcount": str(entry.headcount)}


def fetch(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    session = db.session()
    query = _entries(employer_no, filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return [_row(e) for e in session.scalars(query.offset((page - 1) * per_page).limit(per_page))], total


def iterate(employer_no: str, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in db.session().scalars(_entries(employer_no, filters).execution_options(yield_per=500)):
        yield _row(entry)


def _caption(filters: dict[str, Any]) -> list[str]:
    return [f"结息年度：{Year(filters['year']).label}" if filters.get("year") else "结息年度：全部"]


def employer_name() -> str:
    """The name the caller's session carries (an employer's own; a center user's print names none)."""
    return current_principal().employer_name or ""


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _document(employer_no: str, filters: dict[str, Any]) -> Document:
    total = sum((row["interest"] for row in iterate(employer_no, filters)), Decimal("0.00"))
    period = Year(filters["year"]) if filters.get("year") else None
    return Document(employer_no, employer_name(), "单位结息",
                    f"{period.start} 至 {period.end}" if period else "全部年度", {"利息额合计": _money(total)})


QUERY = QueryDef("interest", "单位结息查询", PERMISSION, InterestFilters, COLUMNS, fetch, iterate,
                 caption=_caption, document=_document)


# -- 利息单 ---------------------------------------------------------------------------------------

SLIP_COLUMNS = (
    SheetColumn("member_no", "个人账号", "code"), SheetColumn("opening", "上年结转余额", "money"),
    SheetColumn("product", "本年积数", "money", width=20), SheetColumn("interest", "利息额", "money"),
    SheetColumn("booking_date", "记账日期", "date"),
)


def _settled(employer_no: str, year: int) -> JournalEntry:
    entry = ledger.booked(db.session(), f"interest:{year}:{employer_no}")
    if entry is None:
        raise BusinessError(f"{Year(year).label}{NOT_SETTLED}", 404)
    return entry


def slip(employer_no: str, year: int) -> tuple[list[dict[str, Any]], Document]:
    """Each member's line of the year's interest booking with its carried balance and balance product."""
    session = db.session()
    entry = _settled(employer_no, year)
    settled = Year(year)
    figures = {m: (opening, opening * settled.days + movements)
               for _e, m, opening, movements in products(session, settled, JournalLine.employer_no == employer_no)}
    rows = []
    for line in session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id)
                                .order_by(JournalLine.member_no)):
        opening, product = figures.get(line.member_no, (Decimal("0.00"), Decimal("0.00")))
        rows.append({"member_no": line.member_no, "opening": opening, "product": product,
                     "interest": line.interest, "booking_date": line.booking_date})
    document = Document(employer_no, employer_name(), "利息单", f"{settled.start} 至 {settled.end}",
                        {"人数": str(entry.headcount), "利息额合计": _money(entry.interest)})
    return rows, document


# -- 对账单 ---------------------------------------------------------------------------------------

STATEMENT_COLUMNS = (SheetColumn("item", "项目", width=30), SheetColumn("amount", "金额（元）", "money", width=24))


def statement(employer_no: str, year: int) -> tuple[list[dict[str, Any]], Document]:
    """Opening balance (end of 30 June Y-1), the year's movements by detail type, its interest, the
    closing balance (end of 30 June Y): opening + movements + interest == closing, from the journal."""
    session = db.session()
    _settled(employer_no, year)
    settled = Year(year)
    opening = ledger.balance_on(session, employer_no, settled.start - timedelta(days=1))
    closing = ledger.balance_on(session, employer_no, settled.end)
    by_type: dict[str, Decimal] = {code: total for code, total in session.execute(
        select(JournalLine.detail_type, func.sum(JournalLine.amount))
        .where(JournalLine.employer_no == employer_no, JournalLine.booking_date >= settled.start,
               JournalLine.booking_date <= settled.end)
        .group_by(JournalLine.detail_type))}
    interest = Decimal(session.scalar(
        select(func.coalesce(func.sum(JournalLine.interest), Decimal("0.00")))
        .where(JournalLine.employer_no == employer_no, JournalLine.booking_date >= settled.start,
               JournalLine.booking_date <= settled.end)) or 0)
    rows: list[dict[str, Any]] = [{"item": f"期初余额（{settled.start - timedelta(days=1)}）", "amount": opening}]
    for code, name in DETAIL_TYPES.items():
        if code != INTEREST_TYPE:
            rows.append({"item": f"本年{name}", "amount": Decimal(by_type.get(code) or 0)})
    rows.append({"item": "本年利息", "amount": interest})
    rows.append({"item": f"期末余额（{settled.end}）", "amount": closing})
    document = Document(employer_no, employer_name(), "对账单", f"{settled.start} 至 {settled.end}",
                        {"期初余额": _money(opening), "本年利息": _money(interest), "期末余额": _money(closing)})
    return rows, document


def settled_years(employer_no: str) -> list[int]:
    """The interest years settled for the employer, latest first (the page's year choice)."""
    days = db.session().scalars(select(JournalEntry.booking_date).where(
        JournalEntry.employer_no == employer_no, JournalEntry.detail_type == INTEREST_TYPE)
        .order_by(JournalEntry.booking_date.desc()))
    return [day.year for day in days if isinstance(day, date) and (day.month, day.day) == (6, 30)]
