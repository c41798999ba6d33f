"""Tables every service has in its own database: the outbox, processed events, revoked sessions."""

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


class ProcessedEventMixin:
    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


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


def plumbing_models(base: type[DeclarativeBase]) -> PlumbingModels:
    """Declare the shared tables on a service's own declarative base."""
    return PlumbingModels(
        outbox=type("Outbox", (OutboxMixin, base), {}),
        processed=type("ProcessedEvent", (ProcessedEventMixin, base), {}),
        revoked=type("RevokedSession", (RevokedSessionMixin, base), {}),
    )
