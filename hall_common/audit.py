"""The audit trail of admin actions: who did what to which object, when, and the state before and after.

A service whose routes change configuration or intervene in running business (auth: accounts, groups,
UKeys, password resets; workflow: deploy, reassign, terminate) declares the table on its own base with
``audit_model`` and writes a record in the same transaction as the action, so an action without its
record cannot happen. The console lists every service's records together (``GET /audit-records``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from . import db
from .access import allow
from .db import utcnow
from .schemas import PageQuery

ACTION_MAX = 50
TARGET_MAX = 200
DETAIL_MAX = 500
STATE_MAX = 20_000  # a deployed BPMN's before/after is summarised (version, checksum), never the XML


class AuditMixin:
    __tablename__ = "audit_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target: Mapped[str] = mapped_column(String(TARGET_MAX))
    detail: Mapped[str] = mapped_column(String(DETAIL_MAX), default="")
    before: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    after: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


def audit_model(base: type[DeclarativeBase]) -> type[Any]:
    return type("AuditRecord", (AuditMixin, base), {})


def _state(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > STATE_MAX:
        raise ValueError("audit state too large: record a summary, not the object")
    return text


def record(
    session: Session, model: type[Any], actor: str, action: str, target: str, *, detail: str = "",
    before: Any = None, after: Any = None,
) -> Any:
    """Add one audit record to the caller's transaction."""
    if len(action) > ACTION_MAX:
        raise ValueError("audit action name too long")
    row = model(
        actor=actor[:50], action=action, target=target[:TARGET_MAX], detail=detail[:DETAIL_MAX],
        before=_state(before), after=_state(after), at=utcnow(),
    )
    session.add(row)
    return row


def list_records(model: type[Any], action: str | None, page: int, per_page: int) -> tuple[list[Any], int]:
    session = db.session()
    where = [model.action == action] if action else []
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    query = select(model).where(*where).order_by(model.id.desc()).offset((page - 1) * per_page).limit(per_page)
    return list(session.scalars(query)), total


class AuditQuery(PageQuery):
    action = fields.String(load_default=None, validate=validate.Length(1, ACTION_MAX))


class AuditRecordSchema(Schema):
    id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    target = fields.String()
    detail = fields.String()
    before = fields.Method("_before")
    after = fields.Method("_after")
    at = fields.DateTime()

    def _before(self, row: Any) -> Any:
        return json.loads(row.before) if row.before else None

    def _after(self, row: Any) -> Any:
        return json.loads(row.after) if row.after else None


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditRecordSchema))
    total = fields.Integer()


def audit_blueprint(model: type[Any]) -> Blueprint:
    """``GET /audit-records``: center accounts with 审计日志 only, newest first, paged."""
    blp = Blueprint("audit", __name__, description="The audit trail of admin actions")

    @blp.route("/audit-records")
    @allow("center:audit")
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditPageSchema)
    def list_audit_records(query: dict[str, Any]) -> dict[str, Any]:
        items, total = list_records(model, query["action"], query["page"], query["per_page"])
        return {"items": items, "total": total}

    return blp
