"""Pushed messages: the center (admin console, API) and downstream systems (service token with the
``push`` permission) send a message to one employer, to a list, or to every employer.

One or a list (up to 1,000) is stored in the request's transaction. A broadcast answers at once
(202) and a Celery task stores it in batches of ``BATCH`` employers, paging the employer service's
directory by key with the notify service's own service token: no copy of the employer list is kept.
Each batch ends with a conditional update of the push's cursor (``WHERE cursor = :seen``), so a batch
stored twice (a redelivered task, two workers) counts once, and an item exists once per push and
employer (unique index; INSERT .. ON CONFLICT DO NOTHING). A retried request with the same client key
and the same normalised request (push_rules.digest) is the same push: the first request's row answers
it. A broadcast counts against its sender's daily quota in its own transaction (push_rules).

A sender reads its own pushes only: center staff with ``push`` see every push, a service token only
those it sent (another's answers 404, as if it did not exist).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hall_common import db
from hall_common.celery_app import get_celery
from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.security import SERVICE, Principal
from hall_common.service_tokens import own_token

from . import push_rules
from .models import ALL, DONE_PUSH, MESSAGE, STORING, InboxItem, Push
from .services import bump_each

log = logging.getLogger(__name__)
BATCH = 1000
BUSINESS_TYPE = "push"  # the business of a pushed message, for the 更多 filter
TASK = "notify.push_batch"
STALLED_AFTER = timedelta(minutes=10)
SENDER_MAX = 50
NOT_FOUND = "推送记录不存在"


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def directory(**params: Any) -> dict[str, Any]:
    """A page of the employer service's directory, asked with this service's own token (a worker has
    no user's). Unit tests replace this function."""
    try:
        page: dict[str, Any] = ServiceClient("employer", own_token("notify")).get("/employers", **params)
    except ServiceError as exc:
        raise BusinessError(f"无法读取单位名录：{exc.message}", 503) from exc
    return page


def schedule(push_id: int, cursor: str) -> None:
    """The next batch of a broadcast, on the notify queue. If the broker is down the push stays
    ``storing`` and housekeeping resumes it (``resume_stalled``)."""
    try:
        get_celery().send_task(TASK, args=[push_id, cursor], queue="notify", ignore_result=True, retry=False)
    except Exception:
        log.exception("the next batch of push %s could not be queued; housekeeping resumes it", push_id)


def _sender(principal: Principal) -> str:
    """The sender as stored (the column holds 50): looked up as stored, or a retry of a longer name found
    nothing, lost the insert to its own first row and failed. Service tokens are issued for names of
    at most 50 (services/auth/service_tokens.py), so no two senders share it."""
    return principal.login_name[:SENDER_MAX]


def _find(principal: Principal, client_key: str) -> Push | None:
    return db.session().scalar(select(Push).where(
        Push.sender_role == principal.role, Push.sender == _sender(principal), Push.client_key == client_key))


def _same(push: Push, body: dict[str, Any], digest: str) -> Push:
    if push.request_digest is not None:
        same = push.request_digest == digest
    else:  # stored before digests were kept: its own fields (its employer list was not kept)
        same = (push.target, push.channel) == (body["target"], body["channel"]) and \
            push_rules.text(push.title) == push_rules.text(body["title"]) and \
            push_rules.text(push.content) == push_rules.text(body["content"])
    if not same:
        raise BusinessError("推送编号已用于另一条消息，请更换推送编号", 409, {"json": {"client_key": [
            "推送编号已用于另一条消息（推送对象、单位、渠道、标题或内容不同）"]}})
    return push


def create(principal: Principal, body: dict[str, Any]) -> tuple[Push, bool]:
    """The push of this request, and whether this request created it (False: a retry of an earlier one)."""
    digest = push_rules.digest(body)
    existing = _find(principal, body["client_key"])
    if existing is not None:
        return _same(existing, body, digest), False
    nos = push_rules.employers(body["employer_nos"])
    if body["target"] != ALL:
        _check_known(nos)  # before the transaction: no write lock held over an HTTP call
    session = db.session()
    now = db.utcnow()
    push_id = session.execute(
        _insert(session)(Push).values(
            sender=_sender(principal), sender_role=principal.role, client_key=body["client_key"],
            request_digest=digest, target=body["target"], channel=body["channel"], title=body["title"].strip(),
            content=body["content"].strip(), status=STORING, stored=0, cursor="", created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["sender_role", "sender", "client_key"]).returning(Push.id)
    ).scalar_one_or_none()
    if push_id is None:  # a simultaneous retry of the same request stored it first
        session.rollback()
        found = _find(principal, body["client_key"])
        assert found is not None
        return _same(found, body, digest), False
    push = session.get(Push, push_id)
    assert push is not None
    if body["target"] == ALL:
        push_rules.take_broadcast(session, _insert(session), principal.role, _sender(principal))
        session.commit()
        schedule(push.id, "")
        return push, True
    stored = store(session, push, nos)
    push.stored, push.status, push.finished_at = len(stored), DONE_PUSH, now
    session.commit()
    return push, True


CHECK_CHUNK = 100  # numbers per directory call: the query string stays within a request line (gunicorn: 4 KB)


def _check_known(nos: list[str]) -> None:
    known: set[str] = set()
    for start in range(0, len(nos), CHECK_CHUNK):
        chunk = nos[start:start + CHECK_CHUNK]
        known.update(item["employer_no"] for item in directory(employer_no=chunk, limit=len(chunk))["items"])
    missing = [no for no in nos if no not in known]
    if missing:
        shown = "、".join(missing[:10]) + (f"等{len(missing)}个" if len(missing) > 10 else "")
        raise BusinessError(f"单位账号不存在：{shown}", 422, {"json": {"employer_nos": [f"单位账号不存在：{shown}"]}})


def store(session: Session, push: Push, employer_nos: list[str]) -> list[str]:
    """The push's message in each employer's 消息 box, once per employer; the employers newly reached
    (their box counts go up by one, in the same transaction)."""
    if not employer_nos:
        return []
    now = db.utcnow()
    rows = [{"employer_no": no, "box": MESSAGE, "business_type": BUSINESS_TYPE, "business_id": str(push.id),
             "title": push.title, "content": push.content, "channel": push.channel,
             "source_event_id": f"push-{push.id}", "created_at": now, "push_id": push.id} for no in employer_nos]
    # Parameters passed apart from the statement: one cached statement, sent in SQLAlchemy's
    # "insertmanyvalues" batches, rather than a new 11,000-parameter statement compiled per batch.
    stored = list(session.execute(
        _insert(session)(InboxItem)
        .on_conflict_do_nothing(index_elements=["push_id", "employer_no"]).returning(InboxItem.employer_no),
        rows,
    ).scalars())
    bump_each(session, stored, MESSAGE)
    return stored


def store_batch(push_id: int, cursor: str) -> str | None:
    """Store the broadcast's batch after ``cursor``; the cursor of the next batch, or None when the push
    is finished or this batch was stored already (a duplicate task)."""
    session = db.session()
    push = session.get(Push, push_id)
    if push is None or push.status != STORING or push.cursor != cursor:
        return None
    page = directory(after=cursor, limit=BATCH)
    nos = [item["employer_no"] for item in page["items"]]
    stored = store(session, push, nos)
    finished = page["next_after"] is None
    now = db.utcnow()
    moved = session.execute(
        update(Push).where(Push.id == push_id, Push.status == STORING, Push.cursor == cursor)
        .values(cursor=nos[-1] if nos else cursor, stored=Push.stored + len(stored), updated_at=now,
                status=DONE_PUSH if finished else STORING, finished_at=now if finished else None)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()  # another run stored this batch meanwhile
        return None
    session.commit()
    return None if finished else nos[-1]


def resume_stalled() -> int:
    """Broadcasts whose next batch was lost (broker down when it was queued, retries used up)."""
    before = db.utcnow() - STALLED_AFTER
    stalled = db.session().execute(
        select(Push.id, Push.cursor).where(Push.status == STORING, Push.updated_at < before)).all()
    for push_id, cursor in stalled:
        schedule(push_id, cursor)
    return len(stalled)


def _visible(principal: Principal) -> list[Any]:
    """The pushes this caller may read: a service token its own, center staff (with push) every one."""
    if principal.role == SERVICE:
        return [Push.sender_role == principal.role, Push.sender == _sender(principal)]
    return []


def list_pushes(principal: Principal, page: int, per_page: int) -> tuple[list[Push], int]:
    session = db.session()
    where = _visible(principal)
    total = session.scalar(select(func.count()).select_from(Push).where(*where)) or 0
    rows = session.scalars(select(Push).where(*where).order_by(Push.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def get_push(principal: Principal, push_id: int) -> Push:
    push = db.session().scalar(select(Push).where(Push.id == push_id, *_visible(principal)))
    if push is None:
        raise BusinessError(NOT_FOUND, 404)
    return push
