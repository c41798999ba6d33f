"""Failed logins of accounts that do not exist, answered as an existing account's would be.

An existing account's refusal counts down (还可尝试4次, 3, ...) and then locks; a name that does not
exist used to get the plain refusal, so one wrong password told an attacker which account names are
real. A name that does not exist now counts down and locks the same way. The counters live in the rate
limiter's storage (Redis, shared by every process of the auth service; process memory while Redis is
down), never in the accounts table, so guessing names stores nothing there. Names share 65,536
counters (by hash): a spray of invented names costs Redis a bounded number of keys, and a shared count
looks like failures someone else made, as a real account's can.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import lru_cache
from typing import Any

from limits.storage import MemoryStorage, storage_from_string

from hall_common.errors import BusinessError
from hall_common.ratelimit import storage_uri
from hall_common.settings import get_settings

from . import accounts

log = logging.getLogger(__name__)
# An existing account's failures last until a success or a lock; a day is as long as anyone watches.
FAILURES_KEPT_SECONDS = 24 * 3600
_memory = MemoryStorage()


@lru_cache(maxsize=1)
def _storage() -> Any:
    uri = storage_uri()
    options: dict[str, float] = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    return storage_from_string(uri, **options)


def failed_login(name: str, bad_message: str) -> BusinessError:
    """The refusal a real account would get for this try: counted, then locked for the lock time."""
    try:
        return _count(_storage(), name, bad_message)
    except Exception:  # Redis down: count in this process, as the rate limiter does
        log.warning("counting failed logins of unknown names in memory", exc_info=True)
        return _count(_memory, name, bad_message)


def _count(storage: Any, name: str, bad_message: str) -> BusinessError:
    settings = get_settings()
    key = hashlib.sha256(name.strip().casefold().encode("utf-8", "replace")).hexdigest()[:4]
    lock_key, failures_key = f"hall-auth:ghost-lock:{key}", f"hall-auth:ghost-failures:{key}"
    if storage.get(lock_key):
        return accounts.locked_refusal(storage.get_expiry(lock_key) - time.time())
    number = storage.incr(failures_key, FAILURES_KEPT_SECONDS)
    if number >= settings.login_max_failures:
        storage.incr(lock_key, settings.login_lock_minutes * 60)
        storage.clear(failures_key)
    return accounts.attempt_failed(accounts.Attempt(key, number), bad_message)
