"""The progress of an interest settlement (结息), one row per interest year.

A run is resumable: each batch of employers is booked and the row's cursor moved in one transaction,
so a worker killed half way leaves a row saying where to go on, and the bookings themselves are
idempotent by source (ledger.book) besides. The rates and the day basis are fixed when the run starts,
so a resumed run settles its remaining employers exactly as it settled the first ones.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hall_common.coltypes import Money

from .models import Base


class InterestRun(Base):
    __tablename__ = "interest_runs"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)  # the interest year ending 30 June
    status: Mapped[str] = mapped_column(String(10))  # running | done | failed
    # Annual rates as decimal text ("0.015000"): exact on SQLite too, and only ever read, never summed.
    current_rate: Mapped[str] = mapped_column(String(12))  # 当年归集利率
    carried_rate: Mapped[str] = mapped_column(String(12))  # 上年结转利率
    day_basis: Mapped[int] = mapped_column(Integer)
    cursor: Mapped[str] = mapped_column(String(20), default="")  # the last employer_no settled
    employers_total: Mapped[int] = mapped_column(Integer, default=0)
    employers_done: Mapped[int] = mapped_column(Integer, default=0)
    members_done: Mapped[int] = mapped_column(Integer, default=0)
    interest_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    started_by: Mapped[str] = mapped_column(String(50))
    error: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
