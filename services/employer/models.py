from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.coltypes import Ratio
from hall_common.db import utcnow
from hall_common.models import plumbing_models

IN_APPROVAL = "in_approval"
APPROVED = "approved"
REJECTED = "rejected"
# Sent back by a reviewer for correction: still pending (blocks a new submission), editable by the
# employer, who resubmits it (-> in_approval) or ends the process (-> ended).
RETURNED = "returned"
# The process was ended (结束流程 by the employer, or terminated by the center): finished without
# effect, a new request may be submitted.
ENDED = "ended"
# The states in which a request holds the employer's one pending slot.
PENDING = (IN_APPROVAL, RETURNED)
REQUEST_STATUS_NAMES = {
    IN_APPROVAL: "审批中", RETURNED: "已退回", APPROVED: "审批通过", REJECTED: "审批不通过", ENDED: "已结束",
}


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


class ChangeRequest(Base):
    __tablename__ = "change_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(ForeignKey("employers.employer_no"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=IN_APPROVAL)
    # [{"field", "label", "old", "new"}], as the operator saw it when submitting
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    operator: Mapped[str] = mapped_column(String(50))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    approver: Mapped[str | None] = mapped_column(String(50), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The approval process of the request (from business.returned/ended), for its path and 结束流程.
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # When ended: "employer" (结束流程) or "center" (terminated), and why.
    ended_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

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
