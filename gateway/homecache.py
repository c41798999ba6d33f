"""The home page's read model, kept in the gateway process: the employer's profile (employer service),
its account (payment) and the shown inbox page (notify, per box and operator), so a page costs no
service call while nothing changed.

Correctness rests on the change notices of Redis pub/sub, received by the gateway's Hub (gateway/
stream.py) on the event loop, while pages read and fill the cache from a2wsgi's threads (one lock):

- notify announces every inbox change, the employer service every profile change and payment every
  account change, after commit (hall_common/changes.py); each drops that employer's entries of that
  topic (a write whose employers are not known drops the topic of every employer).
- The cache serves only while the subscription is up: the Hub calls ``online`` once Redis confirmed
  every subscription and ``offline`` as soon as it is lost; both drop everything, so a notice missed
  while disconnected cannot leave a stale entry.
- A fill races a notice: a page reads the services, the data changes and its notice arrives, then the
  page stores what it read. So a fill takes a ticket (the notice counter) before it asks, and its
  answer is kept only if no notice for that employer and topic came after the ticket.
- A safety TTL (``TTL_SECONDS``) bounds what a lost notice can cost: publishing is best effort (a
  service that cannot reach Redis after its commit logs and goes on) and a half-open connection is
  not seen at once. It counts from the moment the data was read (before the service calls), so a
  slow answer is not kept longer for having been slow.
- Keys carry the session's employer number (and the operator's login for the inbox, whose 我发起的 and
  its count are the operator's own): one employer's entries never answer another.

Revoked sessions: the gateway no longer asks a service for a cached page, so it refuses a revoked
session itself. A session id found not revoked (one Redis GET) is remembered like any entry: dropped
by the auth service's revocation notice, by the loss of the subscription and by the TTL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from redis import Redis

from hall_common import live
from hall_common.changes import ACCOUNT, EVERY, PROFILE
from hall_common.client import gather
from hall_common.settings import get_settings

log = logging.getLogger(__name__)

INBOX = "inbox"
SESSION = "session"  # a group of its own per session id: "not revoked", as last read
# Ten seconds: under load a page is served from memory all but once per ten seconds per employer (a
# refill is three service calls, ~15 ms of CPU in all), while a notice that was lost (Redis failed a
# service's publish, a connection half-open) leaves a block out of date no longer than an operator
# takes to look again. Correct pages do not depend on it: the notices drop entries at once.
TTL_SECONDS = 10.0
# Groups (employers and sessions) kept; each holds a few entries (profile, account, an inbox page per
# box and operator), so a few thousand employers are a few MB.
MAX_GROUPS = 8192
# Fill tickets older than the oldest invalidation remembered are refused (see ``_dropped``).
MAX_DROPPED = 16384


class HomeCache:
    def __init__(self, ttl: float = TTL_SECONDS, max_groups: int = MAX_GROUPS) -> None:
        self.ttl = ttl
        self.max_groups = max_groups
        self._lock = threading.Lock()
        self._groups: OrderedDict[str, dict[tuple[Any, ...], tuple[Any, float]]] = OrderedDict()
        self._serving = False
        self._seq = 0  # counts invalidations (and subscription changes): the fill tickets
        self._dropped: OrderedDict[tuple[str, str], int] = OrderedDict()  # (group, topic) -> seq of its last drop
        self._floor = 0  # the newest seq forgotten from _dropped: an older ticket may have missed it

    # -- the subscription (called from the Hub on the event loop) ---------------------------------------

    def online(self) -> None:
        with self._lock:
            self._groups.clear()
            self._dropped.clear()
            self._seq += 1
            self._floor = self._seq  # a fill begun before now may have read before a missed notice
            self._serving = True

    def offline(self) -> None:
        with self._lock:
            self._serving = False
            self._groups.clear()
            self._dropped.clear()
            self._seq += 1
            self._floor = self._seq

    @property
    def serving(self) -> bool:
        return self._serving

    def invalidate(self, group: str, topic: str) -> None:
        """A notice: drop the group's entries of this topic (every group's for ``EVERY``), and refuse
        fills that began before it."""
        with self._lock:
            self._seq += 1
            self._dropped[(group, topic)] = self._seq
            self._dropped.move_to_end((group, topic))
            while len(self._dropped) > MAX_DROPPED:
                _, seq = self._dropped.popitem(last=False)
                self._floor = max(self._floor, seq)
            for entries in self._groups.values() if group == EVERY else (self._groups.get(group) or {},):
                for key in [k for k in entries if k[0] == topic]:
                    del entries[key]

    # -- pages (any thread) ---------------------------------------------------------------------------

    def ticket(self) -> int | None:
        """Taken before a fill reads the services; None: not serving (bypass the cache)."""
        with self._lock:
            return self._seq if self._serving else None

    def get(self, group: str, key: tuple[Any, ...]) -> Any | None:
        now = time.monotonic()
        with self._lock:
            if not self._serving:
                return None
            entries = self._groups.get(group)
            found = entries.get(key) if entries else None
            if found is None:
                return None
            if found[1] <= now:
                del entries[key]  # type: ignore[union-attr]
                return None
            self._groups.move_to_end(group)
            return found[0]

    def put(self, group: str, key: tuple[Any, ...], value: Any, ticket: int, read_at: float | None = None) -> bool:
        """Keep a fill's answer unless a notice for it (or a subscription change) came after its ticket.
        It expires ``ttl`` after ``read_at`` (``time.monotonic()`` taken before the services were
        asked; now if not given): the bound is on how old the data is, not on how long it was kept."""
        with self._lock:
            if not self._serving or max(self._dropped.get((group, key[0]), self._floor),
                                        self._dropped.get((EVERY, key[0]), 0)) > ticket:
                return False
            if group not in self._groups:
                self._groups[group] = {}
                while len(self._groups) > self.max_groups:
                    self._groups.popitem(last=False)
            else:
                self._groups.move_to_end(group)
            self._groups[group][key] = (value, (time.monotonic() if read_at is None else read_at) + self.ttl)
            return True

    def noticed(self, group: str, topic: str) -> int:
        """The number of the last notice for the group's topic since the subscription began, 0 if none
        (for tests: a notice is seen to arrive when it grows)."""
        with self._lock:
            return self._dropped.get((group, topic), 0)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._groups.values())


CACHE = HomeCache()


@lru_cache(maxsize=1)
def _redis() -> Redis:
    # A page waits at most this long for the revocation check before it asks the services instead.
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)


def reset_redis() -> None:
    _redis.cache_clear()


class Revoked(Exception):
    """The session was revoked at the auth service."""


def _session_state(cache: HomeCache, session_id: str, ticket: int) -> bool | None:
    """True: not revoked; None: not known (Redis did not answer): the caller asks the services, which
    check revocation themselves. Raises Revoked."""
    group = SESSION + ":" + session_id
    if cache.get(group, (SESSION,)) is not None:
        return True
    read_at = time.monotonic()
    try:
        revoked = _redis().exists(live.revoked_key(session_id))
    except Exception:
        log.warning("home cache: revocation of a session not read; the services are asked", exc_info=True)
        return None
    if revoked:
        raise Revoked()
    cache.put(group, (SESSION,), True, ticket, read_at)
    return True


def home_blocks(employer_no: str, session_id: str, login: str, box: str,
                fetch: Sequence[Callable[[], Any]], cache: HomeCache | None = None) -> list[Any]:
    """(profile, account, inbox page) from the cache, the missing ones from the services at once
    (``fetch``: the three calls in that order). Raises Revoked for a session the auth service ended."""
    if cache is None:
        cache = CACHE
    ticket = cache.ticket()
    if ticket is None or not session_id or not employer_no or _session_state(cache, session_id, ticket) is None:
        return gather(*fetch)
    keys = ((PROFILE,), (ACCOUNT,), (INBOX, box, login))
    found = [cache.get(employer_no, key) for key in keys]
    missing = [i for i, value in enumerate(found) if value is None]
    if missing:
        read_at = time.monotonic()  # a slow service must not make what it answered live longer
        for i, value in zip(missing, gather(*(fetch[i] for i in missing)), strict=True):
            cache.put(employer_no, keys[i], value, ticket, read_at)
            found[i] = value
    return found
