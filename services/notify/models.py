from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.db import utcnow
from hall_common.models import plumbing_models

BOXES = ("message", "todo", "done", "initiated", "read")
MESSAGE, READ = "message", "read"


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class InboxItem(Base):
    """One entry in one of an employer's five inboxes (消息, 待办, 已办, 我发起的, 已阅)."""

    __tablename__ = "inbox_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    box: Mapped[str] = mapped_column(String(20))
    business_type: Mapped[str] = mapped_column(String(50))
    business_id: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(50), default="网上服务大厅")
    source_event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The push that sent this message (None: a business result): each push reaches an employer once,
    # however often a batch of its broadcast is retried.
    push_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        Index("ix_inbox_items_employer_box", "employer_no", "box", "id"),
        Index("ux_inbox_items_push_employer", "push_id", "employer_no", unique=True),
        # AUTOINCREMENT on SQLite: without it a deleted newest item's id is handed out again, and an old
        # 查看 link (or a stale page's 删除) would reach another message.
        {"sqlite_autoincrement": True},
    )


# The channels a message is pushed through (recorded and shown as 推送渠道).
HALL_CHANNEL = "网上服务大厅"
CHANNELS = (HALL_CHANNEL, "短信", "微信", "柜面")
ONE, LIST, ALL = "one", "list", "all"
STORING, DONE_PUSH = "storing", "done"


class Push(Base):
    """One push request of the center or a downstream system: its message, whom it reaches and how far
    storing it has come. A broadcast is stored in batches by a Celery task that pages the employer
    directory; ``cursor`` is the last employer number stored, advanced by a conditional update so a
    batch is stored once whichever worker runs it."""

    __tablename__ = "pushes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Who sent it: a center login name or a service token's system name, and which of the two.
    sender: Mapped[str] = mapped_column(String(50))
    sender_role: Mapped[str] = mapped_column(String(20))
    # The sender's key for this request: a retried request with the same key is the same push.
    client_key: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the normalised request (push_rules.digest): a retry with the same key must match it.
    # None for pushes stored before it was kept (compared by their fields instead).
    request_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str] = mapped_column(String(10))  # one | list | all
    channel: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=STORING)  # storing | done
    stored: Mapped[int] = mapped_column(Integer, default=0)  # employers reached so far
    cursor: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        Index("ux_pushes_sender_key", "sender_role", "sender", "client_key", unique=True),
        Index("ix_pushes_status", "status", "updated_at"),
    )


class PushQuota(Base):
    """How many broadcasts one sender has started on one day (the hall's local date): raised by a
    conditional update in the broadcast's own transaction, so concurrent requests count exactly."""

    __tablename__ = "push_quotas"
    sender_role: Mapped[str] = mapped_column(String(20), primary_key=True)
    sender: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    used: Mapped[int] = mapped_column(Integer, default=0)


RUNNING, RETURNED, COMPLETED, ENDED, TERMINATED = "running", "returned", "completed", "ended", "terminated"
# The boxes built from process tracks rather than from inbox items.
TODO, DONE, INITIATED = "todo", "done", "initiated"
TRACK_BOXES = (TODO, DONE, INITIATED)


class ProcessTrack(Base):
    """What the employer knows of one approval process, folded from the workflow's events in their
    ``seq`` order (``ProcessTrackEvent``), so the arrival order never matters."""

    __tablename__ = "process_tracks"
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    employer_no: Mapped[str] = mapped_column(String(20))
    employer_name: Mapped[str] = mapped_column(String(100), default="")
    # As the owning service named the submitting operator (the employer service: the display name).
    initiator: Mapped[str] = mapped_column(String(50), default="")
    # The submitting operator's login name: 我发起的 of one operator (``?initiator=``) matches it.
    initiator_login: Mapped[str] = mapped_column(String(50), default="", server_default="")
    business_type: Mapped[str] = mapped_column(String(50), default="")
    business_id: Mapped[str] = mapped_column(String(50), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    # The employer permission needed to act on the process (resubmit, end), as the instance carries it.
    permission: Mapped[str] = mapped_column(String(50), default="", server_default="")
    summary: Mapped[str] = mapped_column(String(200), default="")
    # running | returned | completed | ended (by the employer) | terminated (by the center)
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The open task (or, when returned, the task that returned it) and who handles / handled it.
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    candidate_group: Mapped[str | None] = mapped_column(String(50), nullable=True)
    handler: Mapped[str | None] = mapped_column(String(50), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The employer's last action on a returned process (resubmitted or 结束流程): it is in 已办 from then.
    acted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        Index("ix_process_tracks_employer_status", "employer_no", "status"),
        Index("ix_process_tracks_employer_instance", "employer_no", "instance_id"),
        Index("ix_process_tracks_employer_initiator", "employer_no", "initiator_login", "instance_id"),
    )


class ProcessTrackEvent(Base):
    """Each workflow event of an instance once, by its ``seq``: the track is their fold."""

    __tablename__ = "process_track_events"
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    event_id: Mapped[str] = mapped_column(String(36))


class BoxCount(Base):
    """How many items one employer's box holds, kept in the same transaction as every insert, move and
    delete of an InboxItem (boxcounts.bump), so a page's total is one key lookup, not a COUNT(*) that
    grows with the box (56 ms over 1M rows in SQLite)."""

    __tablename__ = "inbox_box_counts"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    box: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
