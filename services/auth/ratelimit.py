"""Rate limits of the login challenge and the center's password login (Flask-Limiter), per client
address and per account.

Each challenge stores a row, and a flood of them was the cheapest attack on the hall. The counters
live in Redis, so every gunicorn process of the auth service shares them; while Redis is down each
process counts in its own memory instead, so an outage never stops the logins.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded

from hall_common.errors import error_body
from hall_common.settings import get_settings

MESSAGE = "登录请求过于频繁，请稍后再试"
LIMITED_ENDPOINTS = ("auth.challenge", "auth.center_login")


def client_address() -> str:
    """The caller's address; the one the gateway forwards if the direct caller is a trusted proxy."""
    remote = request.remote_addr or ""
    trusted = {a.strip() for a in get_settings().trusted_proxies.split(",") if a.strip()}
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in trusted and forwarded:
        # The right-most entry is the one the trusted proxy itself added; earlier ones are hearsay.
        return forwarded.split(",")[-1].strip() or remote
    return remote


def account() -> str:
    body = request.get_json(silent=True)
    name = body.get("login_name") if isinstance(body, dict) else None
    # An empty key makes Flask-Limiter skip the limit; such a body fails validation anyway.
    return f"account:{name.strip().casefold()}" if isinstance(name, str) and name.strip() else ""


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


def init_app(app: Flask) -> Limiter:
    uri = app.config.get("RATELIMIT_STORAGE_URI") or storage_uri()
    # Short socket timeouts: an unreachable Redis must cost a login milliseconds, not the default wait.
    options: dict[str, str | int] = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    limiter = Limiter(
        client_address, storage_uri=uri, storage_options=options, in_memory_fallback_enabled=True,
        headers_enabled=True, key_prefix="hall-auth",
    )
    limiter.init_app(app)
    for endpoint in LIMITED_ENDPOINTS:
        view: Any = app.view_functions[endpoint]
        view = limiter.limit(lambda: get_settings().challenge_limit_per_account, key_func=account)(view)
        view = limiter.limit(lambda: get_settings().challenge_limit_per_address, key_func=client_address)(view)
        app.view_functions[endpoint] = view
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def _too_many(error: RateLimitExceeded) -> Response:
    response = jsonify(error_body(429, "Too Many Requests", MESSAGE))
    response.status_code = 429
    return response
