from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common import changes
from hall_common.coltypes import Money
from hall_common.models import plumbing_models


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class EmployerAccount(Base):
    __tablename__ = "employer_accounts"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Invariant: balance == sum of the employer's member account balances.
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unallocated: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class MemberAccount(Base):
    __tablename__ = "member_accounts"
    member_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


# The gateway's home page caches the account summary (balance, member count): every ORM change of these
# rows tells it after the commit.
changes.watch(EmployerAccount, changes.ACCOUNT)
changes.watch(MemberAccount, changes.ACCOUNT)


# What a journal entry books (DOMAIN.md's business type codes, kept as data: the queries name them).
DETAIL_TYPES: dict[str, str] = {"01": "汇缴", "02": "补缴", "09": "年终结息", "99": "其他"}


class JournalEntry(Base):
    """业务流水: one booking of an employer's money, with one line per member (JournalLine). ``source``
    names what booked it ("bill:100100001:2026-05", "supplement:<business id>", "interest:2026:<employer>")
    and is unique, so a redelivered or retried booking finds its entry instead of booking twice."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_employer_date", "employer_no", "booking_date", "id"),
        # 7.3's journal of one detail type, counted and paged without reading the other types' entries.
        Index("ix_journal_entries_employer_type_date", "employer_no", "detail_type", "booking_date", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial_no: Mapped[str] = mapped_column(String(24), unique=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    booking_date: Mapped[date] = mapped_column(Date)
    detail_type: Mapped[str] = mapped_column(String(2))
    summary: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    headcount: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class JournalLine(Base):
    """明细: one member's part of a journal entry. Booking date and type are the entry's, repeated so a
    member's or an employer's lines are read by one index without a join."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("ix_journal_lines_entry", "entry_id", "id"),
        Index("ix_journal_lines_member_date", "member_no", "booking_date", "id"),
        Index("ix_journal_lines_employer_date", "employer_no", "booking_date", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20))
    booking_date: Mapped[date] = mapped_column(Date)
    detail_type: Mapped[str] = mapped_column(String(2))
    amount: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())


class UnallocatedMovement(Base):
    """Every change of an employer's unallocated amount (未分配金额), in (a receipt no bill took) or out
    (a bill or a supplementary payment paid from it): the account view of a past period reads it.
    ``source`` is unique for the same reason as a journal entry's."""

    __tablename__ = "unallocated_movements"
    __table_args__ = (Index("ix_unallocated_movements_employer_date", "employer_no", "booked_on", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())  # positive in, negative out
    summary: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Receipt(Base):
    """到账: money a bank (or a downstream system) posted for an employer. The bank's reference is unique:
    a retried post finds this row and stores nothing again."""

    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_employer_date", "employer_no", "received_on", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_reference: Mapped[str] = mapped_column(String(64), unique=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    received_on: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(200), default="")
    poster: Mapped[str] = mapped_column(String(50))  # the service token's subject that posted it
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RemittanceBill(Base):
    """汇缴 bill of one employer and month: what its normal members owed then (BillLine), fixed when the
    bill is made. One per employer and month (unique), whatever the retries of the job making it."""

    __tablename__ = "remittance_bills"
    __table_args__ = (UniqueConstraint("employer_no", "month", name="uq_remittance_bills_employer_month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month billed
    amount: Mapped[Decimal] = mapped_column(Money())
    headcount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="unpaid")  # unpaid | paid
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class BillLine(Base):
    __tablename__ = "bill_lines"
    __table_args__ = (Index("ix_bill_lines_bill", "bill_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("remittance_bills.id"))
    member_no: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
