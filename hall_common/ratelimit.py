"""Request rate limits (Flask-Limiter) shared by the services: counted in Redis, so every gunicorn
process of a service shares them; while Redis is down each process counts in its own memory instead,
so an outage never stops the service (the auth logins, notify's pushes)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Flask, Response, jsonify
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .errors import error_body
from .settings import get_settings

log = logging.getLogger(__name__)


def storage_uri() -> str:
    """The Redis of HALL_REDIS_URL in the notation of the `limits` package, unless set on its own."""
    settings = get_settings()
    if settings.rate_limit_storage_uri:
        return settings.rate_limit_storage_uri
    url = settings.redis_url
    for ours, theirs in (("redis+socket://", "redis+unix://"), ("sentinel://", "redis+sentinel://")):
        if url.startswith(ours):
            return theirs + url[len(ours):]
    return url


def _storage_options(uri: str) -> dict[str, str | int]:
    # Short socket timeouts: an unreachable Redis must cost a request milliseconds, not the default wait.
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        return {"socket_connect_timeout": 1, "socket_timeout": 1}
    return {}


class WindowLimit:
    """One view's limit, checked by the view itself: Flask-Limiter hooks into every request of the app,
    tens of microseconds each, which a busy app (the gateway) need not pay for one public page. Counted
    in the same storage as the limiters; in this process's memory while that storage fails, trying it
    again after ``retry_seconds``."""

    def __init__(self, prefix: str, limit: Callable[[], str], uri: str | None = None,
                 retry_seconds: float = 30.0) -> None:
        self.prefix, self.limit, self.uri, self.retry_seconds = prefix, limit, uri, retry_seconds
        self._shared: FixedWindowRateLimiter | None = None
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._failed_at: float | None = None

    def hit(self, key: str) -> bool:
        """Count one request of ``key``; False once it is over the limit."""
        item = parse(self.limit())
        if self._failed_at is None or time.monotonic() - self._failed_at >= self.retry_seconds:
            if self._shared is None:
                uri = self.uri or storage_uri()
                self._shared = FixedWindowRateLimiter(storage_from_string(uri, **_storage_options(uri)))
            try:
                allowed = self._shared.hit(item, self.prefix, key)
            except self._shared.storage.base_exceptions:
                log.warning("rate limit storage unreachable: %s counts in this process", self.prefix)
                self._failed_at = time.monotonic()
            else:
                self._failed_at = None
                return allowed
        return self._local.hit(item, self.prefix, key)


def limiter_for(app: Flask, key_func: Callable[[], str], key_prefix: str, message: str) -> Limiter:
    """A limiter for this app whose refusals are the hall's Chinese 429."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or storage_uri()
    options = _storage_options(uri)
    # swallow_errors: requests that meet the storage failing at the same instant (the first of them
    # switches to the memory fallback, the others would raise: a 500) pass unlimited and are logged.
    limiter = Limiter(key_func, storage_uri=uri, storage_options=options, in_memory_fallback_enabled=True,
                      swallow_errors=True, headers_enabled=True, key_prefix=key_prefix)
    limiter.init_app(app)

    def too_many(_error: RateLimitExceeded) -> Response:
        response = jsonify(error_body(429, "Too Many Requests", message))
        response.status_code = 429
        return response

    app.register_error_handler(RateLimitExceeded, too_many)
    return limiter
