from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.db import utcnow
from hall_common.models import plumbing_models

RUNNING = "running"
COMPLETED = "completed"
OPEN = "open"


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


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
    __table_args__ = (UniqueConstraint("process_key", "version"),)


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    business_type: Mapped[str] = mapped_column(String(50))
    business_id: Mapped[str] = mapped_column(String(50))
    owner: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(100))
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    employer_name: Mapped[str] = mapped_column(String(100))
    initiator: Mapped[str] = mapped_column(String(50))
    # What the approver's list shows; the rows themselves stay with the owner.
    summary: Mapped[str] = mapped_column(String(200), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Optimistic lock: every save is UPDATE ... WHERE version = <read version>, so two tasks of one
    # instance completed at once cannot both save over each other's state (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
    # One process per business: a redelivered submission cannot start a second one.
    __table_args__ = (UniqueConstraint("business_type", "business_id"),)


class UserTask(Base):
    __tablename__ = "user_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    candidate_group: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=OPEN, index=True)
    assignee: Mapped[str | None] = mapped_column(String(50), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
