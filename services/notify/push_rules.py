"""What makes two push requests the same, and how often a sender may push.

- A retried request is recognised by its whole normalised request (target, employer list, channel,
  title, content): a retry with a trailing space or the employers in another order is the same push; the
  same client key with anything else is refused. The row keeps only the digest of that form.
- Requests per sender are rate-limited (Flask-Limiter, ``push_limit_per_sender``, in Redis with each
  process's memory as the fallback): it bounds a runaway system's load and its flood of messages.
- A broadcast reaches every employer, so each sender may start ``push_broadcast_daily_quota`` of them per
  day. That count is exact and must survive a Redis restart: a row per sender and day in this database,
  raised by a conditional UPDATE in the broadcast's own transaction (a refused or failed broadcast
  counts nothing, concurrent ones cannot both take the last one).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Flask, g
from sqlalchemy import update
from sqlalchemy.orm import Session

from hall_common.errors import BusinessError
from hall_common.ratelimit import limiter_for
from hall_common.settings import get_settings

from .models import PushQuota

TOO_MANY = "推送过于频繁，请稍后再试"
# The hall's day is China's (UTC+8 all year): a quota day starts at local midnight.
HALL_TIME = timezone(timedelta(hours=8))
LIMITED_ENDPOINT = "notify.send_push"


def text(value: str) -> str:
    """A title or content as it matters for sameness: one Unicode form, every run of white space one
    space, none at either end."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def employers(numbers: list[str]) -> list[str]:
    """Each employer once, in number order: the order of a list does not change whom a push reaches."""
    return sorted({no.strip() for no in numbers if no.strip()})


def digest(body: dict[str, Any]) -> str:
    """The SHA-256 of the normalised request (``body`` as the schema loaded it)."""
    form = {"target": body["target"], "employer_nos": employers(body["employer_nos"]), "channel": body["channel"],
            "title": text(body["title"]), "content": text(body["content"])}
    return hashlib.sha256(json.dumps(form, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def today() -> str:
    return datetime.now(UTC).astimezone(HALL_TIME).date().isoformat()


def take_broadcast(session: Session, insert: Any, sender_role: str, sender: str) -> None:
    """Count one broadcast against the sender's daily quota in the caller's transaction, or refuse it
    (429) when the quota is used up. The row is created once (INSERT .. ON CONFLICT DO NOTHING) and the
    count raised only while below the quota: the UPDATE's row count decides, never a value read earlier."""
    quota = get_settings().push_broadcast_daily_quota
    day = today()
    session.execute(insert(PushQuota).values(sender_role=sender_role, sender=sender, day=day, used=0)
                    .on_conflict_do_nothing(index_elements=["sender_role", "sender", "day"]))
    taken = session.execute(
        update(PushQuota)
        .where(PushQuota.sender_role == sender_role, PushQuota.sender == sender, PushQuota.day == day,
               PushQuota.used < quota)
        .values(used=PushQuota.used + 1))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise BusinessError(f"今日推送给全部单位的次数已达上限（每个发送方每日{quota}次），请明日再试", 429)


def _sender_key() -> str:
    principal = g.get("principal")
    # Empty: Flask-Limiter skips the limit (the request is refused as unauthenticated anyway).
    return f"{principal.role}:{principal.login_name}" if principal is not None else ""


def init_rate_limit(app: Flask) -> None:
    """POST /pushes counted per sender (every request, retries too: the limit bounds load, not messages)."""
    limiter = limiter_for(app, _sender_key, "hall-notify", TOO_MANY)
    view: Any = app.view_functions[LIMITED_ENDPOINT]
    view = limiter.limit(lambda: get_settings().push_limit_per_sender, key_func=_sender_key)(view)
    app.view_functions[LIMITED_ENDPOINT] = view
