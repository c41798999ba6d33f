"""Two beats on one Redis (a rolling update, a mistaken scale to two): only the lock's holder sends the
periodic tasks; the other takes over when the holder stops cleanly (at once) or dies (after the lock's
life), and never while the holder renews it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from celery import Celery

from hall_common.beat_lock import LOCK_KEY, REDIS_RETRY_SECONDS, LockedScheduler
from tests.threads import at_once

from .homecache_support import RedisServer, redis_server, wait_until

__all__ = ["redis_server"]  # the fixture used below


class Beat(LockedScheduler):
    """The real scheduler with a short lock life; what it would send is recorded, not sent."""

    lock_seconds = 1.5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        self.sent.append(entry.name)


def make_beat(tmp_path: Path, name: str) -> Beat:
    app = Celery("beat-lock-test", broker="memory://")
    app.conf.beat_schedule = {"relay": {"task": "t.relay", "schedule": 0.05}}
    return Beat(app=app, schedule_filename=str(tmp_path / f"{name}-schedule"))


def run_for(beats: list[Beat], seconds: float) -> None:
    """Tick each beat as beat's loop does, never sleeping past the shortest wait."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waits = [beat.tick() for beat in beats]
        time.sleep(max(0.0, min(0.02, *waits)))


def test_only_the_holder_fires_and_a_clean_stop_hands_over_at_once(redis_server: RedisServer,
                                                                   tmp_path: Path) -> None:
    first, second = make_beat(tmp_path, "first"), make_beat(tmp_path, "second")
    run_for([first, second], 2.5)  # longer than the lock's life: the holder renews it
    assert len(first.sent) > 10
    assert second.sent == []
    first.close()
    run_for([second], 0.3)
    assert second.sent, "the second beat took over at once after the clean stop"
    second.close()


def test_a_dead_holders_lock_expires_and_the_other_beat_takes_over(redis_server: RedisServer,
                                                                   tmp_path: Path) -> None:
    first, second = make_beat(tmp_path, "first"), make_beat(tmp_path, "second")
    run_for([first, second], 0.3)
    assert first.sent and not second.sent
    # The first beat is killed: it neither ticks nor releases. The second waits out the lock's life.
    started = time.monotonic()
    wait_until(lambda: second.tick() is not None and bool(second.sent), "the second beat fires", seconds=5)
    assert time.monotonic() - started >= 0.5  # not before the dead holder's lock expired
    # The first comes back (a frozen VM): its renewal finds the lock gone and it stays idle.
    fired = len(first.sent)
    first._renewed -= first.renew_every  # its renewal is due, as after a long freeze
    run_for([first, second], 0.5)
    assert len(first.sent) == fired
    assert len(second.sent) > 1
    first.close()
    second.close()


def test_many_beats_starting_together_elect_one(redis_server: RedisServer, tmp_path: Path) -> None:
    beats = [make_beat(tmp_path, f"beat{i}") for i in range(6)]
    held = at_once([beat.holds_lock for beat in beats])
    assert held.count(True) == 1
    run_for(beats, 0.3)
    assert [bool(beat.sent) for beat in beats] == held
    for beat in beats:
        beat.close()


def test_a_beat_without_redis_sends_nothing_and_fires_once_redis_is_back(redis_server: RedisServer,
                                                                         tmp_path: Path) -> None:
    beat = make_beat(tmp_path, "alone")
    redis_server.stop()
    run_for([beat], 0.3)
    assert beat.sent == []
    redis_server.start()
    wait_until(lambda: beat.tick() is not None and bool(beat.sent), "the beat fires once Redis is back")
    assert redis_client(redis_server).get(LOCK_KEY) is not None
    beat.close()
    assert redis_client(redis_server).get(LOCK_KEY) is None  # released on a clean stop


def redis_client(server: RedisServer) -> Any:
    from redis import Redis

    return Redis.from_url(server.url)


def test_a_holder_keeps_firing_after_a_redis_restart(redis_server: RedisServer, tmp_path: Path) -> None:
    beat = make_beat(tmp_path, "holder")
    run_for([beat], 0.2)
    assert beat.sent
    redis_server.stop()
    beat._renewed -= beat.renew_every  # a renewal falls due while Redis is away
    assert beat.tick() == REDIS_RETRY_SECONDS  # idle, and looks again soon
    redis_server.start()  # without its data (this server keeps none): the lock is gone
    fired = len(beat.sent)
    run_for([beat], 1.5)
    assert len(beat.sent) > fired
    assert redis_client(redis_server).get(LOCK_KEY) is not None
    beat.close()
