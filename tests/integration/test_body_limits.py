"""The body limit on the real servers: a chunked body (no Content-Length) over the limit is refused 413
exactly as a sized one, by the gateway (uvicorn, the pages through a2wsgi) and by a service (gunicorn),
where Werkzeug alone would cut it off at the limit and go on (tests/unit/test_page_bridge.py: a chunked
body within the limit reads as its sized twin)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.stack import Stack
from hall_common.settings import get_settings

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """httpx sends a generator with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_chunked_body_over_the_limit_is_refused_like_a_sized_one(stack: Stack) -> None:
    limit = get_settings().max_body_bytes
    over = b"x=" + b"a" * (limit + 1024)  # a little over: the rest is already sent when the server answers
    with httpx.Client(timeout=60) as client:
        for url, headers, message in ((stack.url("gateway") + "/login", FORM, "提交的内容过大"),
                                      (stack.url("notify") + "/pushes", JSON, "提交的数据过大")):
            sized = client.post(url, content=over, headers=headers)
            streamed = client.post(url, content=chunked(over), headers=headers)
            assert "content-length" not in {k.lower() for k in streamed.request.headers}
            assert streamed.request.headers["transfer-encoding"] == "chunked"
            assert (sized.status_code, streamed.status_code) == (413, 413), (url, streamed.text[:200])
            assert message in sized.text and message in streamed.text
