from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.coltypes import Money, Ratio
from hall_common.db import utcnow
from hall_common.models import plumbing_models
from hall_common.roster_models import roster_models

# Member account status (个人账户状态), JGJ/T 320-2014
NORMAL, SEALED, FROZEN = "01", "02", "06"
STATUS_NAMES = {
    "01": "正常", "02": "封存", "03": "合并销户", "04": "外部转出销户", "05": "提取销户", "06": "冻结", "99": "其他",
}
# An account in these states still exists with the employer: its ID cannot be registered again there.
OPEN_STATUSES = (NORMAL, SEALED, FROZEN)
# Business type codes (业务类型) of the status history (12.3's 变更类型).
OPENING, UNSEALING, SEALING = "03", "04", "05"
CHANGE_TYPE_NAMES = {OPENING: "开户", UNSEALING: "启封", SEALING: "封存"}


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)
ROSTER = roster_models(Base)


class Member(Base):
    __tablename__ = "members"
    member_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(18))
    base: Mapped[Decimal] = mapped_column(Money())
    employer_ratio: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio: Mapped[Decimal] = mapped_column(Ratio())
    status: Mapped[str] = mapped_column(String(2), default="01")
    open_date: Mapped[date] = mapped_column(Date)
    mobile: Mapped[str] = mapped_column(String(20), default="")
    # The first month contributions are due (YYYYMM), as registered.
    first_month: Mapped[str] = mapped_column(String(6), default="")

    # The type-ahead searches by prefix of name, ID or number within one employer; 12.1 by opening date.
    # Each begins with the employer, so the planner takes the one whose second column the query ranges
    # over (a lone employer_no index made SQLite scan all 100,000 members of one employer: make bench).
    __table_args__ = (
        Index("ix_members_employer_member", "employer_no", "member_no"),
        Index("ix_members_employer_name", "employer_no", "name"),
        Index("ix_members_employer_id_number", "employer_no", "id_number"),
        Index("ix_members_employer_open_date", "employer_no", "open_date"),
    )


class MemberCounter(Base):
    """The next member number's sequence per employer: taken by one atomic update, so concurrent
    registrations never share a number."""

    __tablename__ = "member_counters"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class StatusChange(Base):
    """12.3: every change of a member's account status, with its reason, operator and time."""

    __tablename__ = "member_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20), index=True)
    change_type: Mapped[str] = mapped_column(String(2))
    from_status: Mapped[str] = mapped_column(String(2), default="")
    to_status: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(String(50), default="")
    operator: Mapped[str] = mapped_column(String(50))
    approver: Mapped[str] = mapped_column(String(50), default="")
    business_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_member_status_changes_employer", "employer_no", "changed_at"),)


class InfoChange(Base):
    """12.2: a change of a member's customer information (written by the member info change business)."""

    __tablename__ = "member_info_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20), index=True)
    field: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str] = mapped_column(String(200), default="")
    new_value: Mapped[str] = mapped_column(String(200), default="")
    operator: Mapped[str] = mapped_column(String(50))
    approver: Mapped[str] = mapped_column(String(50), default="")
    business_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_member_info_changes_employer", "employer_no", "changed_at"),)
