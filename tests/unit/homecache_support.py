"""A real Redis on a private port and the gateway's Hub on an event loop of its own (as under uvicorn,
while the test's thread plays a2wsgi's page threads): what the home cache's tests run against."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.stack import free_port
from gateway import homecache
from gateway.homecache import HomeCache
from gateway.stream import Hub
from hall_common import changes
from hall_common import live as names
from hall_common.settings import reset_settings
from services.notify import live as notify_live


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        redis = shutil.which("redis-server")
        assert redis, "redis-server is needed (make deps installs it)"
        self.process = subprocess.Popen([redis, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL)
        from redis import Redis

        client = Redis(port=self.port, socket_timeout=0.5)
        wait_until(lambda: _answers(client), "redis-server answers")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


def _answers(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False


def wait_until(condition: Callable[[], object], what: str, seconds: float = 10) -> None:
    """A bounded wait for something that happens on another thread or process (not a speed check)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.02)


def _reset_clients() -> None:
    reset_settings()
    changes.reset_client()
    names.reset_client()
    notify_live.reset_client()
    homecache.reset_redis()


@pytest.fixture
def redis_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("HALL_REDIS_URL", server.url)
    _reset_clients()
    try:
        yield server
    finally:
        server.stop()
        _reset_clients()


class RunningHub:
    """The Hub with a cache, listening on its own loop and thread."""

    def __init__(self, url: str, cache: HomeCache) -> None:
        self.cache = cache
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def build() -> Hub:
            hub = Hub(url, cache=cache)
            await hub.start()
            return hub

        self.hub = self.call(build())

    def call(self, coroutine: object) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.call(self.hub.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def running_hub(redis_server: RedisServer) -> Iterator[RunningHub]:
    running = RunningHub(redis_server.url, HomeCache())
    wait_until(lambda: running.cache.serving, "the cache serves once subscribed")
    try:
        yield running
    finally:
        running.stop()
