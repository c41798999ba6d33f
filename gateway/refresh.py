"""The sessions' refresh tokens, in a cookie of their own (``hall_refresh``), apart from the session.

The auth service rotates the refresh token at every renewal and ends the session when a replaced one
comes back (a copy someone kept). In the session cookie that would misfire: every page writes the
session cookie back whole (the idle clock), so the answer to a request sent just before a renewal
would put the replaced token back into the browser. This cookie is written only by the answer that
renewed, logged in or logged out, so no other answer can set an older token again. It is signed with
the gateway's key and HttpOnly, like the session cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "hall_refresh"
_PENDING = "hall_refresh_pending"  # on flask.g: the tokens this answer sets


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="hall-refresh-token")


def _tokens() -> dict[str, str]:
    pending: dict[str, str] | None = g.get(_PENDING)
    if pending is not None:
        return pending
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        value: Any = _serializer().loads(raw)
    except BadSignature:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def get(key: str) -> str:
    """The refresh token of the session kept under ``key`` (employer or center), "" if none."""
    return _tokens().get(key, "")


def put(key: str, token: str | None) -> None:
    """Set (or, with None, drop) the session's refresh token on this answer."""
    value = dict(_tokens())
    if token:
        value[key] = token
    else:
        value.pop(key, None)
    setattr(g, _PENDING, value)


def init_app(app: Flask) -> None:
    @app.after_request
    def _write(response: Response) -> Response:
        value: dict[str, str] | None = g.get(_PENDING)
        if value is None:
            return response
        config = app.config
        if value:
            response.set_cookie(COOKIE, _serializer().dumps(value), httponly=True, path="/",
                                secure=config["SESSION_COOKIE_SECURE"], samesite=config["SESSION_COOKIE_SAMESITE"])
        elif COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path="/", httponly=True, secure=config["SESSION_COOKIE_SECURE"],
                                   samesite=config["SESSION_COOKIE_SAMESITE"])
        return response
