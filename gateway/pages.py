"""The Flask pages on the event loop: a2wsgi's thread pool, handing each response back in one piece.

a2wsgi passes every part of a response (the headers, each body chunk, the end) from the page's thread
to the loop and waits for the loop to take it: about five loop wakeups and three thread waits per page,
a sixth of the gateway's CPU per page under load (py-spy, make bench). A page is a few KB, so here the
thread collects the whole response and returns it once; the loop sends it. A body larger than
``BUFFER_BYTES`` (a file, an export) goes on streaming part by part as a2wsgi does.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import Body, WSGIResponder, build_environ

BUFFER_BYTES = 256 * 1024
Message = dict[str, Any]


class _Responder(WSGIResponder):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        environ = build_environ(scope, Body(self.loop, receive))
        # a2wsgi's body ends where the request's does (its length, or a chunked body's last chunk). Said
        # so, Werkzeug reads a chunked body too, capped by MAX_CONTENT_LENGTH (413 like a sized one);
        # unsaid, it took a body without a length for empty.
        environ["wsgi.input_terminated"] = True  # type: ignore[typeddict-unknown-key]
        context = contextvars.copy_context()
        whole = await self.loop.run_in_executor(self.executor, context.run, self._run, environ, send)
        if whole is not None:  # else it streamed from the thread
            for message in whole:
                await send(message)

    def _run(self, environ: Any, send: Any) -> list[Message] | None:
        started: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        streaming: Any = None  # the loop's sender once the body outgrew the buffer

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., None]:
            if exc_info is not None and streaming is not None:  # too late to replace what was sent
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [{"type": "http.response.start", "status": int(status.split(" ", 1)[0]),
                           "headers": [(name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                                       for name, value in headers]}]
            return chunks.append  # the legacy write(): buffered like the body

        iterable = self.app(environ, start_response)  # type: ignore[arg-type]
        try:
            for chunk in iterable:
                if streaming is None:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size <= BUFFER_BYTES:
                        continue
                    streaming = asyncio.run_coroutine_threadsafe(self.sender(send), self.loop)
                    self.send(started[0])  # type: ignore[arg-type]
                    self.send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                    continue
                self.send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            getattr(iterable, "close", lambda: None)()
        if streaming is not None:
            self.send({"type": "http.response.body", "body": b""})
            self.send(None)
            streaming.result()
            return None
        return [*started, {"type": "http.response.body", "body": b"".join(chunks)}]


class PageServer(WSGIMiddleware):
    """a2wsgi's middleware with the buffered responder (HTTP only; lifespan is the Starlette app's)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await _Responder(self.app, self.executor, self.send_queue_size)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
