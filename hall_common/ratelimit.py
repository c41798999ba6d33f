"""Request rate limits (Flask-Limiter) shared by the services: counted in Redis, so every gunicorn
process of a service shares them; while Redis is down each process counts in its own memory instead,
so an outage never stops the service (the auth logins, notify's pushes)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, jsonify
from flask_limiter import Limiter, RateLimitExceeded

from .errors import error_body
from .settings import get_settings


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


def limiter_for(app: Flask, key_func: Callable[[], str], key_prefix: str, message: str) -> Limiter:
    """A limiter for this app whose refusals are the hall's Chinese 429."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or storage_uri()
    # Short socket timeouts: an unreachable Redis must cost a request milliseconds, not the default wait.
    options: dict[str, str | int] = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
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
