from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.audit import audit_model
from hall_common.db import utcnow
from hall_common.models import plumbing_models

# Instance status
RUNNING = "running"
RETURNED = "returned"  # back with the employer for correction; resubmission resumes the same instance
COMPLETED = "completed"
ENDED = "ended"  # 结束流程 by the employer
TERMINATED = "terminated"  # stopped by a center admin
# Task status (a claimed task is open with an assignee)
OPEN = "open"
CANCELLED = "cancelled"


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)
AuditRecord = audit_model(Base)


class ProcessDefinition(Base):
    """One deployed version of a BPMN process; running instances keep the version they started on."""

    __tablename__ = "process_definitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # The serialized process spec, stored once here instead of in every instance's state.
    spec_json: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(50))
    deployed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # server_default: what 0002/0004 gave the rows that existed (see hall_common/models.py's outbox).
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Resolved at deploy so the runtime never guesses: {user task bpmn id: group code}, {end event: outcome}.
    task_groups: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    end_outcomes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    initiator_may_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    __table_args__ = (UniqueConstraint("process_key", "version"),)


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    business_type: Mapped[str] = mapped_column(String(50))
    business_id: Mapped[str] = mapped_column(String(50))
    owner: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(100))
    # The employer permission an operator needs to act on the business (hall_common.business_types), as
    # submitted: it rides on every process event, so notify and the gateway know it for any type.
    permission: Mapped[str] = mapped_column(String(50), default="", server_default="")
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    employer_name: Mapped[str] = mapped_column(String(100))
    initiator: Mapped[str] = mapped_column(String(50))
    # The submitting operator's login name (unique within the employer, unlike the display name): it
    # rides on every process event so notify's 我发起的 is the operator's own.
    initiator_login: Mapped[str] = mapped_column(String(50), default="", server_default="")
    # What the approver's list shows; the rows themselves stay with the owner.
    summary: Mapped[str] = mapped_column(String(200), default="", server_default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default=RUNNING, index=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Why an employer ended or an admin terminated the process.
    end_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Numbers the events about this instance, so consumers converge whatever the arrival order.
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Optimistic lock: every save is UPDATE ... WHERE version = <read version>, so two tasks of one
    # instance completed at once cannot both save over each other's state (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    # One process per business: a redelivered submission cannot start a second one.
    __table_args__ = (UniqueConstraint("business_type", "business_id"),)


class UserTask(Base):
    """One activation of a user task. A returned task is reset to on resubmission under the same Spiff
    task id, so ``task_guid`` repeats over the rows of an instance; at most one of them is open."""

    __tablename__ = "user_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    candidate_group: Mapped[str] = mapped_column(String(50), index=True)
    status: Mapped[str] = mapped_column(String(20), default=OPEN, index=True)
    assignee: Mapped[str | None] = mapped_column(String(50), nullable=True)  # login name
    assignee_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The database, not only the code, keeps one open row per Spiff task (SQLite and PostgreSQL both
    # know partial indexes).
    __table_args__ = (
        Index("uq_user_tasks_open_guid", "task_guid", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )


class InstanceStep(Base):
    """What happened to an instance beside its start and its user tasks: resubmission, end, terminate;
    the steps table of the path view merges these with the task rows."""

    __tablename__ = "instance_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # resubmit | end | terminate
    actor: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
