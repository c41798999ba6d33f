"""Files from a service passed on to the browser as they arrive: an export of 100k rows is never held
whole in the gateway's memory, and its first bytes reach the browser while the service still writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import urllib3
from flask import Response

from hall_common.client import ServiceClient

CHUNK_BYTES = 64 * 1024
# The callee's headers the browser needs to save or show the file; nothing else is passed on.
PASSED_HEADERS = ("Content-Type", "Content-Disposition", "Content-Length")


def _chunks(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        # decode_content=False: a compressed body goes on compressed, with its Content-Length.
        yield from upstream.stream(CHUNK_BYTES, decode_content=False)
    finally:
        upstream.release_conn()


def passed_on(client: ServiceClient, path: str, params: dict[str, Any] | None = None,
              inline: bool = False) -> Response:
    """The service's file as the gateway's answer, streamed; a refusal is the caller's ServiceError
    (raised before any byte is sent, so the browser gets the page's message). ``inline`` opens it in the
    browser (a PDF in its viewer, to print) whatever the callee said, its file name kept."""
    upstream = client.stream("GET", path, params=params)
    headers = {name: value for name in PASSED_HEADERS if (value := upstream.headers.get(name))}
    encoding = upstream.headers.get("Content-Encoding")
    if encoding:
        headers["Content-Encoding"] = encoding
    if inline:
        given = headers.get("Content-Disposition", "")
        headers["Content-Disposition"] = "inline" + given[len("attachment"):] if given.startswith("attachment") \
            else (given or "inline")
    headers.setdefault("Content-Type", "application/octet-stream")
    response = Response(_chunks(upstream), headers=headers, direct_passthrough=True)
    response.headers["Cache-Control"] = "no-store"  # the employer's data: not kept by a shared cache
    return response
