from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.change_roster import (
    APPROVED,
    ENDED,
    IN_APPROVAL,
    PENDING,
    REJECTED,
    REQUEST_STATUS_NAMES,
    RETURNED,
    ChangeRequestColumns,
)
from hall_common.coltypes import Ratio
from hall_common.db import utcnow
from hall_common.models import plumbing_models

# The request's states are the change roster's (hall_common.change_roster), shared with the member change.
__all__ = ["APPROVED", "ENDED", "IN_APPROVAL", "PENDING", "REJECTED", "REQUEST_STATUS_NAMES", "RETURNED"]


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class Employer(Base):
    __tablename__ = "employers"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18))
    open_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(2), default="01")
    employer_ratio: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio: Mapped[Decimal] = mapped_column(Ratio())
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(6), default="")
    legal_representative: Mapped[str] = mapped_column(String(50), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_mobile: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ChangeRequest(ChangeRequestColumns, Base):
    __tablename__ = "change_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(ForeignKey("employers.employer_no"), index=True)

    # At most one pending (in approval or returned) request per employer, even under a double click on
    # two threads.
    __table_args__ = (
        Index(
            "uq_change_requests_one_pending",
            "employer_no",
            unique=True,
            sqlite_where=text("status IN ('in_approval', 'returned')"),
            postgresql_where=text("status IN ('in_approval', 'returned')"),
        ),
    )


class ChangeHistory(Base):
    __tablename__ = "change_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(ForeignKey("employers.employer_no"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"))
    field: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(50))
    approver: Mapped[str] = mapped_column(String(50))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ClosureRequest(ChangeRequestColumns, Base):
    """零余额销户: a request to close the employer's account, one row of the change roster (单位账户状态 ->
    04 销户). Its own table: its pending slot is its own (an info change may be pending meanwhile)."""

    __tablename__ = "closure_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(ForeignKey("employers.employer_no"), index=True)
    employer_name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        Index(
            "uq_closure_requests_one_pending",
            "employer_no",
            unique=True,
            sqlite_where=text("status IN ('in_approval', 'returned')"),
            postgresql_where=text("status IN ('in_approval', 'returned')"),
        ),
    )
