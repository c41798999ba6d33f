"""``GET /events/stream``: the signed-in employer's live inbox notices as server-sent events.

Every open home page holds one of these connections for as long as it is open, so they are served
on the event loop (gateway/asgi.py), not by the threads that render pages: a thousand open pages
cost a thousand small coroutines, not a thousand threads. One Redis pub/sub connection per gateway
process (the ``Hub``) receives every employer's notices and hands each only to the streams of its
own employer. A notice is a snapshot (every box's count, the newest message id), so a slow page may
skip one and lose nothing, and the employer's last notice, kept in Redis, is sent first whenever a
page (re)connects: what happened while its stream was down (a gateway restart) reaches it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from flask import Flask
from redis import asyncio as aioredis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hall_common import changes
from hall_common import live as names
from hall_common.metrics import LIVE_STREAMS

from .homecache import INBOX, SESSION, HomeCache
from .session import stream_employer

log = logging.getLogger(__name__)
PATH = "/events/stream"
RETRY_MS = 2000  # the browser reconnects this soon after a lost stream (a gateway restart)
HEARTBEAT_SECONDS = 20  # a comment line now and then keeps proxies from closing a quiet stream
QUEUE_SIZE = 8
END = b""  # put in a stream's queue when its session ended: the stream closes
# Open streams of one session: far more tabs than anyone works with, and few enough that one signed-in
# browser (or a script with its cookie) cannot take the process's connections from everyone else.
SESSION_STREAMS = 32
SID = "sid:"  # a stream is registered under its live id and under this prefix + its auth session id


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class Hub:
    """The process's one subscription to every employer's inbox channel, fanned out to its streams; with
    a cache (gateway/homecache.py), also every change notice and revoked session, which drop its
    entries, and whose subscription state says whether it may serve."""

    def __init__(self, redis_url: str, cache: HomeCache | None = None) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=3)
        self.cache = cache
        self.streams: dict[str, set[asyncio.Queue[bytes]]] = {}
        # live id (and SID + auth session id) -> that session's streams
        self.sessions: dict[str, set[asyncio.Queue[bytes]]] = {}
        self.held: set[asyncio.Queue[bytes]] = set()  # every open stream, once (close may run twice)
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="inbox-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.redis.aclose()

    def open(self, employer_no: str, live_id: str = "", session_id: str = "") -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self.held.add(queue)
        LIVE_STREAMS.set(len(self.held))
        self.streams.setdefault(employer_no, set()).add(queue)
        for name in (live_id, SID + session_id if session_id else ""):
            if name:
                self.sessions.setdefault(name, set()).add(queue)
        return queue

    def open_streams(self, live_id: str, session_id: str) -> int:
        """The streams open in this process for one session, by either of its names."""
        return max(len(self.sessions.get(live_id, ())) if live_id else 0,
                   len(self.sessions.get(SID + session_id, ())) if session_id else 0)

    def close(self, employer_no: str, queue: asyncio.Queue[bytes], live_id: str = "", session_id: str = "") -> None:
        self.held.discard(queue)
        LIVE_STREAMS.set(len(self.held))
        for registry, key in ((self.streams, employer_no), (self.sessions, live_id),
                              (self.sessions, SID + session_id if session_id else "")):
            queues = registry.get(key)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del registry[key]

    def end(self, live_id: str) -> None:
        """The session ended: each of its streams gets END in place of whatever it had not read, and no
        notice after it (a full queue drops its oldest entry, which would be the END)."""
        ended = self.sessions.get(live_id, set())
        for queues in self.streams.values():
            queues.difference_update(ended)
        for queue in ended:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(END)

    async def ended(self, live_id: str, session_id: str = "") -> bool:
        """Whether the session ended (logout and the like, at the gateway or at the auth service). Redis
        down: not known, so not refused; the stream still ends at the session's idle or absolute limit."""
        keys = [key for key in (live_id and names.ended_key(live_id),
                                session_id and names.revoked_key(session_id)) if key]
        if not keys:
            return False
        try:
            return bool(await self.redis.exists(*keys))
        except Exception:
            log.warning("live: whether session %s ended was not read", (live_id or session_id)[:6], exc_info=True)
            return False

    def deliver(self, employer_no: str, data: bytes) -> None:
        for queue in self.streams.get(employer_no, ()):
            if queue.full():  # a page that does not read: its oldest notice is out of date anyway
                queue.get_nowait()
            queue.put_nowait(data)

    async def last(self, employer_no: str) -> bytes | None:
        try:
            value = await self.redis.get(names.last_key(employer_no))
        except Exception:  # Redis down: the stream still opens and gets the next notice
            log.warning("live: last notice of %s not read", employer_no, exc_info=True)
            return None
        return value.encode() if isinstance(value, str) else value

    async def _listen(self) -> None:
        """Subscribe to every inbox channel; after a lost connection subscribe again (with backoff) and
        send each open stream its employer's last notice, which may have been missed meanwhile."""
        backoff, lost = 0.5, False
        patterns, channels = [names.CHANNEL_PREFIX + "*"], [names.ENDED_CHANNEL]
        if self.cache is not None:
            patterns.append(changes.CHANNEL_PREFIX + "*")
            channels.append(names.REVOKED_CHANNEL)
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(*patterns)
                await pubsub.subscribe(*channels)
                self.subscribed.set()
                backoff = 0.5
                if lost:
                    for name in list(self.sessions):  # ended while the subscription was down
                        if await (self.ended("", name[len(SID):]) if name.startswith(SID) else self.ended(name)):
                            self.end(name)
                    for employer_no in list(self.streams):
                        data = await self.last(employer_no)
                        if data is not None:
                            self.deliver(employer_no, data)
                confirmations = len(patterns) + len(channels)
                async for message in pubsub.listen():
                    if message["type"] in ("subscribe", "psubscribe"):
                        # Redis confirms in order: from the last one on, no notice can be missed, and the
                        # cache may serve again (it starts empty).
                        confirmations -= 1
                        if confirmations == 0 and self.cache is not None:
                            self.cache.online()
                        continue
                    self._handle(_text(message.get("channel")), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live: Redis subscription lost; subscribing again in %.1f s", backoff, exc_info=True)
            finally:
                if self.cache is not None:  # a notice may be missed from now on: serve nothing cached
                    self.cache.offline()
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            lost = True
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)


    def _handle(self, channel: str, data: bytes) -> None:
        """One notice. The cache is told first: a page that a stream's notice makes the browser fetch
        again must not find the entry the notice dropped."""
        if channel == names.ENDED_CHANNEL:
            self.end(_text(data))
            return
        if channel == names.REVOKED_CHANNEL:
            session_id = _text(data)
            if self.cache is not None:
                self.cache.invalidate(SESSION + ":" + session_id, SESSION)
            self.end(SID + session_id)
            return
        changed = changes.parse(channel)
        if changed is not None:
            if self.cache is not None:
                self.cache.invalidate(changed[1], changed[0])
            return
        to = names.employer_of(channel)
        if to is None:
            return
        if self.cache is not None:
            self.cache.invalidate(to, INBOX)
        if to in self.streams:
            self.deliver(to, data)


def frame(data: bytes) -> bytes:
    return b"event: inbox\ndata: " + data.replace(b"\n", b"") + b"\n\n"


class _Stream(StreamingResponse):
    """Gives its place back when the response ends however it ends: a client gone before the first
    byte never starts the generator, whose own ``finally`` would not run then."""

    def __init__(self, events: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(events, media_type="text/event-stream", headers={
            "Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"})
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def endpoint(app: Flask, hub: Hub) -> Callable[[Request], Awaitable[Response]]:
    async def stream(request: Request) -> Response:
        who = stream_employer(app, request.headers.get("cookie", ""))
        if who is None:
            return JSONResponse({"message": "请先登录"}, status_code=401)
        employer_no, ends_at, live_id, session_id = who
        if await hub.ended(live_id, session_id):  # a copy of the cookie of a session that logged out
            return JSONResponse({"message": "已退出登录，请重新登录"}, status_code=401)
        # Counted and taken with no await between: every open of the process runs on this one event
        # loop, so of simultaneous opens exactly SESSION_STREAMS get a place (the count once sat here
        # and the place was taken only when the response began, so any number passed together).
        if hub.open_streams(live_id, session_id) >= SESSION_STREAMS:
            return JSONResponse({"message": "打开的页面过多，请关闭部分页面后重试"}, status_code=429)
        queue = hub.open(employer_no, live_id, session_id)
        return _Stream(_events(hub, employer_no, ends_at, live_id, session_id, queue),
                       lambda: hub.close(employer_no, queue, live_id, session_id))

    return stream


async def _events(hub: Hub, employer_no: str, ends_at: float, live_id: str = "", session_id: str = "",
                  queue: asyncio.Queue[bytes] | None = None) -> AsyncIterator[bytes]:
    """Until the session the cookie showed would be idle or reach its absolute limit, or ends (logout);
    then the stream ends and the browser comes back with its current cookie (its pages and 继续办理
    move the idle clock) or is refused. ``queue``: the place the endpoint took, else one taken here."""
    if queue is None:
        queue = hub.open(employer_no, live_id, session_id)  # before reading the last notice: nothing falls between
    try:
        if await hub.ended(live_id, session_id):  # ended between the check at the door and the registration
            return
        yield f"retry: {RETRY_MS}\n: open\n\n".encode()
        last = await hub.last(employer_no)
        if last is not None:
            yield frame(last)
        while (left := ends_at - time.time()) > 0:
            try:
                data = await asyncio.wait_for(queue.get(), timeout=min(HEARTBEAT_SECONDS, left))
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if data == END:
                return
            yield frame(data)
    finally:
        hub.close(employer_no, queue, live_id, session_id)
