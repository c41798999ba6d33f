"""The gateway's page bridge (gateway/pages.py): a page comes back from its thread in one piece, a body
larger than the buffer streams part by part, and both arrive whole with their status and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from flask import Flask, Response, request

from gateway import pages
from gateway.pages import PageServer
from hall_common import guards

from .test_live import run_isolated


def _app() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    app.before_request(guards.refuse_unsized_body_at_limit)  # as the gateway and every service do

    @app.route("/page")
    def page() -> Any:
        return "<p>单位</p>", 201, {"X-Test": "yes"}

    @app.route("/echo", methods=["POST"])
    def echo() -> Any:
        return {"length": len(request.get_data()), "x": request.form.get("x", "")[:5]}

    @app.route("/big")
    def big() -> Any:
        return Response((bytes([65 + n % 26]) * 1000 for n in range(600)), mimetype="text/plain")

    return app


def _messages(path: str) -> tuple[list[dict[str, Any]], httpx.Response]:
    sent: list[dict[str, Any]] = []
    server = PageServer(_app(), workers=2)  # type: ignore[arg-type]

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def recorded(message: Any) -> None:
            sent.append(message)
            await send(message)

        await server(scope, receive, recorded)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counting), base_url="http://hall") as client:
            return await client.get(path)

    return sent, run_isolated(call())


def test_a_page_is_sent_in_one_piece() -> None:
    sent, response = _messages("/page")
    assert response.status_code == 201 and response.headers["x-test"] == "yes"
    assert response.text == "<p>单位</p>"
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert not sent[1].get("more_body", False)


def test_a_body_larger_than_the_buffer_streams_whole() -> None:
    sent, response = _messages("/big")
    assert response.status_code == 200
    assert response.content == b"".join(bytes([65 + n % 26]) * 1000 for n in range(600))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert len(bodies) > 2 and sum(len(m["body"]) for m in bodies) == 600_000
    assert len(bodies[0]["body"]) > pages.BUFFER_BYTES  # what was buffered goes first, then the rest


def _post(content: Any) -> httpx.Response:
    server = PageServer(_app(), workers=2)  # type: ignore[arg-type]

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://hall") as client:
            return await client.post("/echo", content=content,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})

    return run_isolated(call())


def test_a_chunked_body_is_read_and_capped_like_a_sized_one() -> None:
    async def chunked(body: bytes) -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 100):
            yield body[start:start + 100]

    small = b"x=hello&" + b"y" * 1000
    assert _post(small).json() == _post(chunked(small)).json() == {"length": len(small), "x": "hello"}
    big = b"x=" + b"a" * 5000
    assert _post(big).status_code == _post(chunked(big)).status_code == 413
