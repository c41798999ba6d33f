"""Celery beat that fires only while it holds a Redis lock, so a second beat cannot double-fire.

The deployments run beat as one replica, but one is not a guarantee: a rolling update starts the new
pod before the old one stops, an operator scales to two by mistake, a node that seems lost comes back.
Every beat therefore ticks through this scheduler (services/worker.py sets it): it sends due tasks only
while it holds ``LOCK_KEY``, a lock with a time to live that the holder renews at least every third of
that time. A beat that does not hold it stays idle and tries again on its next tick; it takes over when
the holder releases the lock on a clean stop (at once) or dies (after ``lock_seconds``).

What remains: a holder frozen for longer than the lock's life (a stopped VM) may, on waking, send the
tasks that were due at that moment once more before its next renewal finds the lock gone. Every
periodic task here is idempotent (a relay pass, housekeeping, an interest run that settles a year once),
so such a rare extra pass changes nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.beat import PersistentScheduler
from redis import Redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from .settings import get_settings

log = logging.getLogger(__name__)

LOCK_KEY = "hall:beat:lock"
REDIS_RETRY_SECONDS = 1.0


class LockedScheduler(PersistentScheduler):
    lock_seconds: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renew_every = self.lock_seconds / 3
        # Wake at least once per renewal interval, also when no task is due for longer.
        self.max_interval: float = min(float(self.max_interval), self.renew_every)
        client = Redis.from_url(get_settings().redis_url, socket_connect_timeout=2, socket_timeout=2)
        # Not thread-local: the token must be the scheduler's, whichever thread ticks it.
        self._lock = client.lock(LOCK_KEY, timeout=self.lock_seconds, thread_local=False)
        self._held = False
        self._renewed = 0.0
        self._told_idle = False
        self._redis_away = False

    def holds_lock(self) -> bool:
        """Acquire the lock, or renew it when held and a third of its life has passed."""
        now = time.monotonic()
        if self._held and now - self._renewed < self.renew_every:
            return True
        self._redis_away = False
        try:
            held = self._renew() or bool(self._lock.acquire(blocking=False))
        except RedisError:
            self._redis_away = True
            # Nothing could be sent without Redis anyway. The token is kept: when Redis comes back with
            # the lock still in its append-only file, this beat renews it instead of waiting it out.
            held = False
            log.warning("beat: Redis does not answer; idle until it does", exc_info=True)
        if held:
            self._renewed = now
        self._tell(held)
        return held

    def _renew(self) -> bool:
        """Whether the lock is still this beat's (renewed now): after a pass, a Redis outage, a freeze."""
        if self._lock.local.token is None:
            return False
        try:
            self._lock.reacquire()
            return True
        except LockNotOwnedError:  # expired, and maybe taken by another beat meanwhile
            self._lock.local.token = None
            return False

    def _tell(self, held: bool) -> None:
        if held and not self._held:
            log.info("beat: holds %s; sending the periodic tasks", LOCK_KEY)
        elif not held and (self._held or not self._told_idle):  # once per wait, not at every tick
            log.info("beat: another beat holds %s (or Redis is away); idle until it is free", LOCK_KEY)
        self._told_idle = not held
        self._held = held

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.holds_lock():
            # Another beat renews its lock every renew_every seconds; Redis coming back is worth a
            # quicker look (the relay's safety net waits meanwhile).
            return REDIS_RETRY_SECONDS if self._redis_away else self.renew_every
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        # A clean stop hands over at once instead of after the lock's life (a rolling update).
        if self._held:
            try:
                self._lock.release()
            except (LockError, RedisError):
                log.warning("beat: could not release %s; it expires by itself", LOCK_KEY)
            self._held = False
        super().close()
