"""Service-to-service HTTP client: short timeouts and one error type carrying the callee's message."""

from __future__ import annotations

import contextvars
import json as jsonlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import urllib3

from .logs import HEADER as REQUEST_ID_HEADER
from .logs import current_request_id
from .settings import get_settings


class ServiceError(Exception):
    def __init__(self, service: str, status: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{service}: {status} {message}")
        self.service = service
        self.status = status
        self.message = message
        self.errors = errors or {}


# Seconds a file's stream (an export of 100k rows, a print, an upload checked at once) may pause.
STREAM_READ_TIMEOUT = 60.0

_pool_lock = threading.Lock()
_pool: tuple[int, urllib3.PoolManager] | None = None


def _http() -> urllib3.PoolManager:
    """One pooled, thread-safe client per process, its connections kept alive between calls. urllib3,
    not httpx: a call through httpx cost about 2.5 times the CPU (make bench, employer home page, where
    the gateway makes three calls per page); a new client per call would cost a TLS context (~70 ms).
    A forked child (gunicorn, Celery prefork) builds its own."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            # No retries and no redirects, as before: a failed call is the caller's ServiceError.
            _pool = (os.getpid(), urllib3.PoolManager(num_pools=20, maxsize=20, retries=False))
        return _pool[1]


_calls_lock = threading.Lock()
_calls: tuple[int, ThreadPoolExecutor] | None = None


def gather(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent service calls at once and return their answers in order; the first error is
    raised as if the calls had run one after another. A page then waits for its slowest call, not for
    the sum of them, and a gateway thread is held that much shorter (make bench, employer home page).
    The calls run outside the request context: build the clients (and read the session) before."""
    global _calls
    if len(calls) < 2:
        return [call() for call in calls]
    with _calls_lock:
        if _calls is None or _calls[0] != os.getpid():
            _calls = (os.getpid(), ThreadPoolExecutor(max_workers=32, thread_name_prefix="service-call"))
        pool = _calls[1]
    # Each call in a copy of the caller's context: it carries the request id (hall_common.logs).
    futures = [pool.submit(contextvars.copy_context().run, call) for call in calls[1:]]
    first = calls[0]()  # the caller's own thread takes one call
    return [first, *(future.result() for future in futures)]


def _query(params: dict[str, Any]) -> str:
    """The query string as httpx wrote it: None as empty, booleans as true/false, lists repeated."""
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    pairs = [(key, text(item)) for key, value in params.items()
             for item in (value if isinstance(value, list | tuple) else [value])]
    return urlencode(pairs)


def _json(data: bytes) -> Any:
    return jsonlib.loads(data) if data else None


class ServiceClient:
    def __init__(self, service: str, token: str | None = None, base_url: str | None = None) -> None:
        settings = get_settings()
        self.service = service
        self.base_url = base_url or settings.service_url(service)
        self.timeout = urllib3.Timeout(connect=min(2.0, settings.http_timeout), read=settings.http_timeout)
        self.stream_timeout = urllib3.Timeout(connect=min(2.0, settings.http_timeout),
                                              read=max(STREAM_READ_TIMEOUT, settings.http_timeout))
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        headers = dict(self.headers)
        body = None
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        response = self._send(method, self._url(path, params), body, headers, self.timeout, preload=True)
        if response.status >= 400:
            raise self._error(response.status, response.data)
        return _json(response.data)

    def upload(self, path: str, data: bytes, content_type: str, params: dict[str, Any] | None = None) -> Any:
        """POST a file's raw bytes (an import's xlsx) and read the JSON answer. The callee checks a small
        file before it answers, so this waits as long as a stream does."""
        headers = {**self.headers, "Content-Type": content_type}
        response = self._send("POST", self._url(path, params), data, headers, self.stream_timeout, preload=True)
        if response.status >= 400:
            raise self._error(response.status, response.data)
        return _json(response.data)

    def stream(self, method: str, path: str, params: dict[str, Any] | None = None, body: bytes | None = None,
               content_type: str | None = None) -> urllib3.BaseHTTPResponse:
        """The callee's answer unread (a file: an xlsx export, a PDF), for the caller to pass on chunk by
        chunk (``response.stream()``) and then ``release_conn()``; a refusal (status >= 400) is read
        and raised as ServiceError. An export of many rows streams for seconds: a longer read timeout."""
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        response = self._send(method, self._url(path, params), body, headers, self.stream_timeout, preload=False)
        if response.status >= 400:
            try:
                data = response.read()
            except urllib3.exceptions.HTTPError:
                data = b""
            finally:
                response.release_conn()
            raise self._error(response.status, data)
        return response

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        return self.base_url + path + ("?" + _query(params) if params else "")

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: urllib3.Timeout,
              preload: bool) -> urllib3.BaseHTTPResponse:
        request_id = current_request_id()
        if request_id:  # the callee logs, and its events carry, the caller's request id
            headers = {**headers, REQUEST_ID_HEADER: request_id}
        try:
            return _http().request(method, url, body=body, headers=headers, timeout=timeout, retries=False,
                                   redirect=False, preload_content=preload)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceError(self.service, 503, "服务暂不可用，请稍后再试") from exc

    def _error(self, status: int, data: bytes) -> ServiceError:
        try:
            found = jsonlib.loads(data)
        except ValueError:
            found = None
        errors = found if isinstance(found, dict) else {}
        return ServiceError(self.service, status, errors.get("message") or "服务暂不可用，请稍后再试",
                            errors.get("errors"))

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
