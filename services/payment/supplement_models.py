"""The payment service's roster tables (the spine's, on this service's base) and the months paid by 补缴."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hall_common.coltypes import Money
from hall_common.roster_models import roster_models

from .models import Base

ROSTER = roster_models(Base)


class SupplementMonth(Base):
    """One member's month paid by an approved 补缴: one per member and month (unique), so a month paid is
    never paid twice, whichever business, import or retry tries. A pending one is held by the roster's
    claim instead (hall_common.roster_models)."""

    __tablename__ = "supplement_months"
    __table_args__ = (UniqueConstraint("member_no", "month", name="uq_supplement_months_member_month"),
                      Index("ix_supplement_months_business", "business_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20))
    month: Mapped[str] = mapped_column(String(6))  # YYYYMM, as the roster's rows hold it
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(20))
    business_id: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
