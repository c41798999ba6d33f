"""Change notices for the employer's open pages, published to Redis pub/sub after a commit.

Whatever changes an employer's inboxes (a message stored, moved or deleted; a process track refolded)
marks the employer on the session (``mark``). Just before that session commits, the notice is read
inside the same transaction (every box's count and the newest message's id, so it describes exactly
what commits), and once the commit succeeded it is published on the employer's channel; a rollback
publishes nothing. The gateway's stream endpoint passes it to that employer's pages only.

Publishing is best effort: the inbox is already stored, so a Redis outage costs only the live update
(the page shows the right figures on its next load, and the notice kept under ``last_key`` is sent
to a page as soon as its stream reconnects).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from redis import Redis
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from hall_common import db
from hall_common import live as names
from hall_common.settings import get_settings

from .models import BOXES, MESSAGE, BoxCount, InboxItem

log = logging.getLogger(__name__)
CHANGED, NOTICES = "hall.inbox_changed", "hall.inbox_notices"
CHUNK = 500  # employers per grouped query: well under SQLite's bound-parameter limit
_COUNTS, _ITEMS = BoxCount.__table__, InboxItem.__table__
# On the tables, built once with a bound list: they run before every commit that touches an inbox.
_COUNTS_QUERY = (select(_COUNTS.c.employer_no, _COUNTS.c.box, _COUNTS.c.n)
                 .where(_COUNTS.c.employer_no.in_(bindparam("nos", expanding=True))))
_NEWEST_QUERY = (select(_ITEMS.c.employer_no, func.max(_ITEMS.c.id))
                 .where(_ITEMS.c.employer_no.in_(bindparam("nos", expanding=True)), _ITEMS.c.box == MESSAGE)
                 .group_by(_ITEMS.c.employer_no))


@lru_cache(maxsize=1)
def _client() -> Redis:
    # Short timeouts: a hung Redis must not hold the request or the event that just committed.
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1)


def mark(session: Session, employer_no: str) -> None:
    """The session's transaction changes this employer's inboxes: publish a notice once it commits."""
    session.info.setdefault(CHANGED, set()).add(employer_no)


def notices(employer_nos: list[str]) -> list[dict[str, Any]]:
    """What a page needs to know, for each employer: every box's count and the newest message (a new
    one plays a sound). A few grouped queries per chunk, whatever the number of employers (a broadcast
    stores messages for thousands in one transaction)."""
    session = db.session()
    at = db.utcnow().isoformat(timespec="seconds") + "+00:00"
    result = []
    for first in range(0, len(employer_nos), CHUNK):
        chunk = employer_nos[first:first + CHUNK]
        counts = {no: dict.fromkeys(BOXES, 0) for no in chunk}
        for no, box, n in session.execute(_COUNTS_QUERY, {"nos": chunk}):
            counts[no][box] = n
        newest: dict[str, int] = {no: top for no, top in session.execute(_NEWEST_QUERY, {"nos": chunk})}
        result += [{"employer_no": no, "counts": counts[no], "newest_message_id": newest.get(no) or 0, "at": at}
                   for no in chunk]
    return result


def publish_change(target: Session | str, *employer_nos: str) -> None:
    """Tell the employer's open pages that its inboxes changed.

    With a session: publish when it commits (nothing if it rolls back) for the employers named here,
    those of the inbox items it adds, changes or deletes through the ORM, and those already marked
    (``services.bump`` and the track handler mark theirs, so their callers need not call this).
    With an employer number: publish now, from what is committed (after a commit made some other way,
    e.g. a bulk insert of a broadcast).
    """
    if isinstance(target, Session):
        for employer_no in employer_nos:
            mark(target, employer_no)
        for item in (*target.new, *target.dirty, *target.deleted):
            if isinstance(item, InboxItem):
                mark(target, item.employer_no)
        return
    _publish(notices([target, *employer_nos]))


def _publish(notices: list[dict[str, Any]]) -> None:
    if not notices:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for item in notices:
            body = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            pipe.set(names.last_key(item["employer_no"]), body, ex=names.LAST_SECONDS)
            pipe.publish(names.channel(item["employer_no"]), body)
        pipe.execute()
    except Exception:
        log.warning("live inbox notice not published for %d employer(s); pages update on reload",
                    len(notices), exc_info=True)


@event.listens_for(Session, "before_commit")
def _read_notices(session: Session) -> None:
    changed = session.info.pop(CHANGED, None)
    if changed:
        session.info[NOTICES] = notices(sorted(changed))


@event.listens_for(Session, "after_commit")
def _send_notices(session: Session) -> None:
    notices = session.info.pop(NOTICES, None)
    if notices:
        _publish(notices)


@event.listens_for(Session, "after_rollback")
def _drop_notices(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop(NOTICES, None)


def reset_client() -> None:
    _client.cache_clear()
