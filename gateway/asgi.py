"""The gateway as served: its Flask pages in a thread pool, and the live stream on the event loop.

``gunicorn -k gateway.asgi.Worker gateway.asgi:create_asgi()`` serves one origin: ``/events/stream``
(gateway/stream.py) runs as a coroutine per open page, everything else goes to the Flask app through
a2wsgi's thread pool (gateway/pages.py: each page handed back in one piece), sized as the former
gthread worker (four threads). So open pages never take the threads that render pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from uvicorn_worker import UvicornWorker

from hall_common.settings import get_settings

from . import create_app, homecache, stream
from .pages import PageServer

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
PAGE_THREADS = 4


class Worker(UvicornWorker):
    """uvicorn under gunicorn. Addresses from X-Forwarded-For are the Flask app's business
    (HALL_GATEWAY_PROXY_HOPS), never the server's: a browser on this machine must not name its own
    address. A restart closes the open streams after a moment; the pages reconnect by themselves."""

    CONFIG_KWARGS = {"loop": "asyncio", "http": "httptools", "proxy_headers": False, "server_header": False,
                     "timeout_graceful_shutdown": 2}


def create_asgi() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    flask_app = create_app()
    # The Hub's subscription also keeps the home page's read model current (gateway/homecache.py).
    hub = stream.Hub(get_settings().redis_url, cache=homecache.CACHE)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await hub.start()
        yield
        await hub.stop()

    events = Starlette(routes=[Route(stream.PATH, stream.endpoint(flask_app, hub))], lifespan=lifespan)
    pages = PageServer(flask_app, workers=PAGE_THREADS)  # type: ignore[arg-type]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Only the stream and the server's lifespan go through Starlette; a page costs no routing here.
        if scope["type"] == "lifespan" or scope.get("path") == stream.PATH:
            await events(scope, receive, send)  # type: ignore[arg-type]
        else:
            await pages(scope, receive, send)  # type: ignore[arg-type]

    return app
