"""Tables every service has in its own database: the outbox, processed events, dead letters and
revoked sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .db import utcnow


class OutboxMixin:
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    # When to check the consumers' receipts (None: confirmed, or published before receipts existed).
    check_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    # A server_default in a model is the one the migration that added the column left for the rows then
    # there; tests/unit/test_migrations.py holds models and migrations equal.
    resent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProcessedEventMixin:
    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeadLetterMixin:
    """An event this service gave up on after its retries (or at once, when retrying cannot help).

    It stays until the center retries it from the admin console; a retry that succeeds marks it resolved.
    """

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    last_error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # dead (waiting for the center), retrying (sent again), resolved (a later delivery succeeded)
    status: Mapped[str] = mapped_column(String(20), default="dead", index=True)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    retried_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    retried_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RevokedSessionMixin:
    """A logged-out session token, fed by ``auth.session_revoked``; kept until the token expires."""

    __tablename__ = "revoked_sessions"
    token_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class PlumbingModels:
    outbox: type[Any]
    processed: type[Any]
    revoked: type[Any]
    dead_letter: type[Any]


def plumbing_models(base: type[DeclarativeBase]) -> PlumbingModels:
    """Declare the shared tables on a service's own declarative base."""
    return PlumbingModels(
        outbox=type("Outbox", (OutboxMixin, base), {}),
        processed=type("ProcessedEvent", (ProcessedEventMixin, base), {}),
        revoked=type("RevokedSession", (RevokedSessionMixin, base), {}),
        dead_letter=type("DeadLetter", (DeadLetterMixin, base), {}),
    )
