"""The audit trail of admin actions: who did what to which object, when, and the state before and after.

A service whose routes change configuration or intervene in running business (auth: accounts, groups,
UKeys, password resets; workflow: deploy, reassign, terminate) declares the table on its own base with
``audit_model`` and writes a record in the same transaction as the action, so an action without its
record cannot happen. The console lists every service's records together (``GET /audit-records``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from flask import Response, g, has_request_context, stream_with_context
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Column, DateTime, Integer, String, Table, Text, event, func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from . import db
from .access import allow
from .audit_chain import BEYOND_HEAD, GENESIS, Head, Link, Verdict, chain_hash, export_header, export_line, verify
from .db import utcnow
from .runtime import get_runtime
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
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # How the actor's session was authenticated (password, totp, ukey, webauthn; hall_common.security):
    # None for records made outside a signed-in request (an event handler, a command) and older ones.
    factor: Mapped[str | None] = mapped_column(String(20), nullable=True)


HEAD_TABLE = "audit_chain_head"
HEAD_ROW = 1
PENDING = "hall.audit.pending"  # Session.info: (the transaction, its records not yet chained)
EXPORT_PAGE = 500  # records read per query while an export or a check streams


def audit_model(base: type[DeclarativeBase]) -> type[Any]:
    """The service's AuditRecord, and beside it the chain's one-row head (last id, last hash)."""
    head = Table(HEAD_TABLE, base.metadata,
                 Column("id", Integer, primary_key=True, autoincrement=False),
                 Column("last_id", Integer, nullable=False),
                 Column("last_hash", String(64), nullable=False))
    # The migrations write the row; a database made from the models (create_all) gets it too.
    event.listen(head, "after_create", lambda target, connection, **kw: connection.execute(
        insert(target).values(id=HEAD_ROW, last_id=0, last_hash=GENESIS)))
    return type("AuditRecord", (AuditMixin, base), {})


def head_table(model: type[Any]) -> Table:
    return cast(Table, model.metadata.tables[HEAD_TABLE])


def _state(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > STATE_MAX:
        raise ValueError("audit state too large: record a summary, not the object")
    return text


def record(
    session: Session, model: type[Any], actor: str, action: str, target: str, *, detail: str = "",
    before: Any = None, after: Any = None, factor: str | None = None,
) -> Any:
    """Add one audit record to the caller's transaction: written, chained, when it commits. ``factor``:
    how the actor authenticated; by default the signed-in request's (its token's ``amr``)."""
    if len(action) > ACTION_MAX:
        raise ValueError("audit action name too long")
    row = model(
        actor=actor[:50], action=action, target=target[:TARGET_MAX], detail=detail[:DETAIL_MAX],
        before=_state(before), after=_state(after), at=utcnow(), factor=factor or _request_factor(),
    )
    transaction = session.get_transaction() or session.begin()
    pending = session.info.get(PENDING)
    if pending is None or pending[0] is not transaction:  # a rolled back transaction's records are gone
        pending = session.info[PENDING] = (transaction, [])
    pending[1].append(row)
    return row


def _request_factor() -> str | None:
    principal = g.get("principal") if has_request_context() else None
    return getattr(principal, "factor", None)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Append the transaction's records to the chain, as its last writes before the commit."""
    if session.in_nested_transaction():  # a savepoint's release: the outer commit chains them
        return
    pending = session.info.pop(PENDING, None)
    if pending is None or pending[0] is not session.get_transaction() or not pending[1]:
        return
    rows = pending[1]
    session.flush()  # the caller's own writes first: a lost optimistic save fails before the head is taken
    head = head_table(type(rows[0]))
    connection = session.connection()
    # A no-op write takes the head: the row lock on PostgreSQL, the write lock on SQLite, until commit.
    taken = connection.execute(update(head).where(head.c.id == HEAD_ROW).values(last_id=head.c.last_id))
    found = connection.execute(select(head.c.last_id, head.c.last_hash).where(head.c.id == HEAD_ROW)).first()
    if not taken.rowcount or found is None:
        raise RuntimeError("the audit chain's head is missing: audited actions stop until it is restored")
    last_id, last_hash = found
    for row in rows:
        row.id, row.prev_hash = last_id + 1, last_hash
        row.hash = chain_hash(Link.of(row).content, last_hash)
        last_id, last_hash = row.id, row.hash
        session.add(row)
    session.flush()
    connection.execute(update(head).where(head.c.id == HEAD_ROW).values(last_id=last_id, last_hash=last_hash))


def read_head(session: Session, model: type[Any]) -> Head | None:
    head = head_table(model)
    found = session.execute(select(head.c.last_id, head.c.last_hash).where(head.c.id == HEAD_ROW)).first()
    return Head(found[0], found[1]) if found else None


def stored_links(session: Session, model: type[Any], upto: int) -> Iterator[Link]:
    """The records up to ``upto`` in chain order, a page at a time (plain rows: no identity map grows)."""
    table = model.__table__
    after = 0
    while True:
        rows = session.execute(select(table).where(table.c.id > after, table.c.id <= upto)
                               .order_by(table.c.id).limit(EXPORT_PAGE)).all()
        if not rows:
            return
        yield from (Link.of(row) for row in rows)
        after = rows[-1].id


def verify_stored(session: Session, model: type[Any]) -> Verdict:
    """The chain as stored: the records up to the head, then any record past it."""
    head = read_head(session, model)
    verdict = verify(stored_links(session, model, head.last_id) if head else iter(()), head,
                     lambda hash_: session.scalar(select(model.id).where(model.hash == hash_).limit(1)))
    if not verdict.ok or head is None:
        return verdict
    beyond = session.scalar(select(func.min(model.id)).where(model.id > head.last_id))
    if beyond is not None:
        # Appended by the hall since the head was read? A record and its head commit together: a head
        # read after the record was seen covers it, unless the record never went through the hall.
        again = read_head(session, model)
        if again is None or beyond > again.last_id:
            return Verdict(False, verdict.count, verdict.last_id, verdict.last_hash, beyond, BEYOND_HEAD,
                           f"第{beyond}条记录不在校验链上（未经系统写入）")
    return verdict


def export_lines(session: Session, model: type[Any], service: str) -> Iterator[bytes]:
    """The export (JSON lines): a header with the head, then every record up to it with both hashes."""
    head = read_head(session, model)
    if head is None:
        raise RuntimeError("the audit chain's head is missing")
    yield export_line(export_header(service, head, utcnow()))
    for link in stored_links(session, model, head.last_id):
        yield export_line(link.exported())


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
    hash = fields.String()
    factor = fields.String(allow_none=True, metadata={"description": "the actor's login factor: password, "
                                                      "totp, ukey or webauthn (null: not a signed-in request)"})

    def _before(self, row: Any) -> Any:
        return json.loads(row.before) if row.before else None

    def _after(self, row: Any) -> Any:
        return json.loads(row.after) if row.after else None


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditRecordSchema))
    total = fields.Integer()


class VerdictSchema(Schema):
    ok = fields.Boolean()
    count = fields.Integer()
    last_id = fields.Integer(allow_none=True)
    last_hash = fields.String(allow_none=True)
    broken_id = fields.Integer(allow_none=True)
    reason = fields.String()
    message = fields.String()


EXPORT_MIMETYPE = "application/x-ndjson"
EXPORT_DOC = {"200": {"description": "JSON lines: a header with the chain's head, then each record with its hashes",
                      "content": {EXPORT_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}}


def audit_blueprint(model: type[Any]) -> Blueprint:
    """``GET /audit-records``: center accounts with 审计日志 only, newest first, paged; the chain's check
    and its export for offline verification (docs/audit.md), with the same permission."""
    blp = Blueprint("audit", __name__, description="The audit trail of admin actions")

    @blp.route("/audit-records")
    @allow("center:audit")
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditPageSchema)
    def list_audit_records(query: dict[str, Any]) -> dict[str, Any]:
        items, total = list_records(model, query["action"], query["page"], query["per_page"])
        return {"items": items, "total": total}

    @blp.route("/audit-records/verify")
    @allow("center:audit")
    @blp.response(200, VerdictSchema)
    def verify_audit_chain() -> dict[str, Any]:
        return verify_stored(db.session(), model).as_dict()

    @blp.route("/audit-records/export")
    @allow("center:audit")
    @blp.response(200, content_type=EXPORT_MIMETYPE, description="JSON lines, streamed")
    @blp.doc(responses=EXPORT_DOC)
    def export_audit_chain() -> Response:
        service = get_runtime().name
        lines = export_lines(db.session(), model, service)
        first = next(lines)  # the head is read before the answer starts: a failure is an error, not a cut file
        name = f"audit-{service}-{utcnow():%Y%m%d%H%M%S}.jsonl"

        def rest() -> Iterator[bytes]:
            yield first
            yield from lines

        return Response(stream_with_context(rest()), mimetype=EXPORT_MIMETYPE,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    return blp
