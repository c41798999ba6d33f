from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.audit import audit_model
from hall_common.change_roster import ChangeRequestColumns
from hall_common.coltypes import Money, Ratio, ScaledDecimal
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
AuditRecord = audit_model(Base)  # the center's policy changes (政策参数), with before and after


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
    # server_default: what 0004/0005 gave the rows that existed (see hall_common/models.py's outbox).
    mobile: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # The first month contributions are due (YYYYMM), as registered.
    first_month: Mapped[str] = mapped_column(String(6), default="", server_default="")
    # The monthly amount's two parts as the policy in force rounded them when they were set (registration,
    # base adjustment): stored, so a later change of rounding rule never rewrites what a member owes.
    employer_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default="0")
    personal_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"), server_default="0")
    # Customer information (manual ch. 9); coded values (education, marital status) per DOMAIN.md.
    education: Mapped[str] = mapped_column(String(2), default="", server_default="")
    landline: Mapped[str] = mapped_column(String(20), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(6), default="", server_default="")
    duty: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 职务
    occupation: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 职业
    title: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 职称
    marital_status: Mapped[str] = mapped_column(String(2), default="", server_default="")
    home_address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    family_income: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)  # 家庭收入, yuan a month

    # The type-ahead searches by prefix of name, ID or number within one employer; 12.1 by opening date.
    # Each begins with the employer, so the planner takes the one whose second column the query ranges
    # over (a lone employer_no index made SQLite scan all 100,000 members of one employer: make bench).
    __table_args__ = (
        Index("ix_members_employer_member", "employer_no", "member_no"),
        Index("ix_members_employer_name", "employer_no", "name"),
        Index("ix_members_employer_id_number", "employer_no", "id_number"),
        Index("ix_members_employer_open_date", "employer_no", "open_date"),
        # 基数调整's batch-edit grid: one employer's 正常 members in member number order (0006b_grid_index).
        Index("ix_members_employer_status_member", "employer_no", "status", "member_no"),
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


class MemberChangeRequest(ChangeRequestColumns, Base):
    """缴存人信息变更 (ch. 9): one member's 待变更清册 as submitted, through its approval (the change roster,
    hall_common.change_roster); applied to the member and to 12.2's InfoChange on approval."""

    __tablename__ = "member_change_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20))
    # The employer's name as the submitting session knew it: the outcome's message names it.
    employer_name: Mapped[str] = mapped_column(String(100), default="")

    __table_args__ = (
        # At most one pending (in approval or returned) change per member, even under a double click.
        Index("uq_member_change_requests_one_pending", "member_no", unique=True,
              sqlite_where=text("status IN ('in_approval', 'returned')"),
              postgresql_where=text("status IN ('in_approval', 'returned')")),
        Index("ix_member_change_requests_employer", "employer_no", "status", "id"),
    )


class Contribution(Base):
    """A member's contribution terms from a month on: opened at registration, appended by every base
    adjustment. The terms of month M are the row with the latest ``from_month`` <= M, so an adjustment
    effective from a later month leaves the months before it as they were."""

    __tablename__ = "member_contributions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    member_no: Mapped[str] = mapped_column(String(20))
    from_month: Mapped[str] = mapped_column(String(6))  # YYYYMM
    base: Mapped[Decimal] = mapped_column(Money())
    employer_ratio: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio: Mapped[Decimal] = mapped_column(Ratio())
    employer_amount: Mapped[Decimal] = mapped_column(Money())
    personal_amount: Mapped[Decimal] = mapped_column(Money())
    business_type: Mapped[str] = mapped_column(String(40), default="")
    business_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_member_contributions_member_month", "member_no", "from_month"),
        Index("ix_member_contributions_employer", "employer_no", "from_month"),
    )


def Rate() -> ScaledDecimal:  # noqa: N802  (reads as a column type)
    """An annual interest rate such as 0.015000 (1.5%)."""
    return ScaledDecimal(9, 6)


class PolicyVersion(Base):
    """The center's policy (政策参数) from a date on: the one in force on day D has the latest
    ``effective_from`` <= D. A version in force or past is never edited: a change is a new version."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    effective_from: Mapped[date] = mapped_column(Date)
    base_min: Mapped[Decimal] = mapped_column(Money())
    base_max: Mapped[Decimal] = mapped_column(Money())
    amount_min: Mapped[Decimal] = mapped_column(Money())  # the monthly amount (both parts)
    amount_max: Mapped[Decimal] = mapped_column(Money())
    employer_ratio_min: Mapped[Decimal] = mapped_column(Ratio())
    employer_ratio_max: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio_min: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio_max: Mapped[Decimal] = mapped_column(Ratio())
    # The monthly amount's rounding: each part to the fen ("0.01") or the yuan ("1"), by a decimal mode.
    amount_places: Mapped[str] = mapped_column(String(4), default="0.01")
    rounding: Mapped[str] = mapped_column(String(20), default="ROUND_HALF_UP")
    current_rate: Mapped[Decimal] = mapped_column(Rate())  # 当年归集 annual interest rate
    carried_rate: Mapped[Decimal] = mapped_column(Rate())  # 上年结转 annual interest rate
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("effective_from", name="uq_policy_versions_effective_from"),)
