"""The roster's tables, declared on the owning service's own base (as the outbox is): its rows, the
businesses its commits became, and its imports.

A row is a draft (``batch_id`` null, not ``staged``), a staged import row waiting for the operator
(``staged``: an import with errors, kept invisible until the good rows are accepted), or part of a
committed business (``batch_id``). ``claim`` is the row's subject (an ID number, a member number)
while the row is a draft or its business is pending: one unique index keeps a subject in at most one
live row per employer and business type, whoever adds it and however many operators at once. A
finished business releases its claims (null is never equal to null in a unique index).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from .db import utcnow

IN_APPROVAL, RETURNED, APPROVED, REJECTED, ENDED = "in_approval", "returned", "approved", "rejected", "ended"
PENDING = (IN_APPROVAL, RETURNED)
BATCH_STATUS_NAMES = {
    IN_APPROVAL: "审批中", RETURNED: "已退回", APPROVED: "已办结", REJECTED: "审批不通过", ENDED: "已结束",
}
# Import states: queued (waiting for the heavy worker), running, checked (errors found: the operator
# accepts the good rows or discards), added (in the roster), discarded, failed (the file was refused).
QUEUED, RUNNING, CHECKED, ADDED, DISCARDED, FAILED = "queued", "running", "checked", "added", "discarded", "failed"
IMPORT_STATUS_NAMES = {
    QUEUED: "排队中", RUNNING: "检查中", CHECKED: "检查完成，存在错误", ADDED: "已导入清册", DISCARDED: "已放弃",
    FAILED: "导入失败",
}
UNSETTLED = (QUEUED, RUNNING, CHECKED)
UNSETTLED_WHERE = "status IN ('queued', 'running', 'checked')"


class RosterRowMixin:
    __tablename__ = "roster_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    business_type: Mapped[str] = mapped_column(String(40))
    # Found through ix_roster_rows_draft (employer, type, batch): no index of its own to keep up per row.
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    staged: Mapped[bool] = mapped_column(Boolean, default=False)
    claim: Mapped[str | None] = mapped_column(String(60), nullable=True)
    row_no: Mapped[int] = mapped_column(Integer, default=0)  # the row of the imported sheet; 0 when typed
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Set when the approved business was applied but this row could not be (its subject moved meanwhile).
    result: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - SQLAlchemy's declared_attr is a class method
        return (
            UniqueConstraint("employer_no", "business_type", "claim", name="uq_roster_rows_claim"),
            Index("ix_roster_rows_draft", "employer_no", "business_type", "batch_id", "staged"),
        )


class RosterBatchMixin:
    """One committed roster: the business the approval process is about."""

    __tablename__ = "roster_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    employer_name: Mapped[str] = mapped_column(String(100), default="")
    business_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=IN_APPROVAL)
    row_count: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(50))
    operator_login: Mapped[str] = mapped_column(String(50), default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    approver: Mapped[str | None] = mapped_column(String(50), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class RosterImportMixin:
    """One uploaded workbook: kept until settled, for its progress, its errors and the marked copy."""

    __tablename__ = "roster_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    business_type: Mapped[str] = mapped_column(String(40))
    option: Mapped[str] = mapped_column(String(20), default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The marked copy of a large file with errors, made by the heavy worker (openpyxl takes seconds per
    # 10,000 rows); a small file's is made when asked for.
    marked: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    good: Mapped[int] = mapped_column(Integer, default=0)
    bad: Mapped[int] = mapped_column(Integer, default=0)
    # [[row, field, reason], ...]: every error, for the page (its first few) and the marked workbook
    errors: Mapped[str] = mapped_column(Text, default="[]")
    message: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805
        return (
            Index("ix_roster_imports_owner", "employer_no", "business_type", "status"),
            # One unsettled import per roster (上一次导入尚未处理完毕): the page shows one, and another's
            # staged rows would hold their subjects unseen. The index decides between simultaneous uploads.
            Index("uq_roster_imports_unsettled", "employer_no", "business_type", unique=True,
                  sqlite_where=text(UNSETTLED_WHERE), postgresql_where=text(UNSETTLED_WHERE)),
        )


@dataclass(frozen=True)
class RosterModels:
    row: type[Any]
    batch: type[Any]
    import_: type[Any]


def roster_models(base: type[DeclarativeBase]) -> RosterModels:
    """Declare the roster's tables on a service's own declarative base."""
    return RosterModels(
        row=type("RosterRow", (RosterRowMixin, base), {}),
        batch=type("RosterBatch", (RosterBatchMixin, base), {}),
        import_=type("RosterImport", (RosterImportMixin, base), {}),
    )
