"""The gateway's sessions: the tokens from the auth service, who they belong to, and the idle clock.

The access token lives minutes; before it expires the gateway renews it with the session's refresh
token, so a logout (or a change of the account's rights) at the auth service ends the session within
one access lifetime even if the revocation event is lost. The gateway also keeps the time of the
user's last page request: past the idle limit the session is revoked and the user logs in again.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

from flask import Flask, current_app, flash, redirect, request, session, url_for

from hall_common import live
from hall_common.client import ServiceClient, ServiceError
from hall_common.schemas import CONTROL
from hall_common.settings import get_settings

from . import refresh

F = TypeVar("F", bound=Callable[..., Any])
EMPLOYER_KEY, CENTER_KEY = "employer_session", "center_session"
LOGIN_ENDPOINTS = {EMPLOYER_KEY: "login.login", CENTER_KEY: "admin.login"}
# The admin console's blueprints: their pages run the center session's idle clock.
CENTER_BLUEPRINTS = ("admin", "accounts", "ops", "groups", "designer", "monitor", "push", "rights", "tokens",
                     "policy", "interest", "keyadmin")
# Renew a little before the expiry, so a token never expires on its way to a service.
RENEW_MARGIN = 10
# Sent by the page's own refresh after a live notice (static/live.js): it must not keep an unattended
# session alive, so it does not count as activity on the idle clock.
LIVE_HEADER = "X-Hall-Live"
IDLE_MESSAGE = "长时间未操作，已自动退出，请重新登录"
LIVE_ID = "live_id"
STARTED_AT = "started_at"


def start(key: str, login: dict[str, Any]) -> None:
    _ended(current(key))  # a new login in this browser replaces the former session: its streams stop
    refresh.put(key, login.get("refresh_token", ""))  # its own cookie: gateway/refresh.py says why
    session[key] = {"token": login["token"],
                    "expires_at": login.get("expires_at", 0), "principal": login["principal"],
                    "sound_enabled": login.get("sound_enabled", True),
                    "large_text": bool(login.get("large_text", False)), "last_active": time.time(),
                    # The session's absolute limit counts from here (the live stream ends at it too).
                    STARTED_AT: time.time(),
                    # Names this session to the live streams (gateway/stream.py), which end with it.
                    LIVE_ID: secrets.token_urlsafe(16)}


def permitted(permission: str) -> bool:
    value = current(EMPLOYER_KEY)
    return value is not None and permission in value["principal"].get("perms", [])


def end(key: str) -> None:
    _ended(session.pop(key, None))
    refresh.put(key, None)


def _ended(value: dict[str, Any] | None) -> None:
    """The cookie is signed, not stored: a copy kept after the logout would still open the live stream
    until its idle limit. The streams learn of the end through Redis instead (hall_common.live)."""
    live_id = value.get(LIVE_ID) if isinstance(value, dict) else None
    if isinstance(live_id, str) and live_id:
        live.end_session(live_id)


def current(key: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = session.get(key)
    return value


def principal(key: str = EMPLOYER_KEY) -> dict[str, Any]:
    value = current(key)
    assert value is not None
    result: dict[str, Any] = value["principal"]
    return result


def session_id(key: str = EMPLOYER_KEY) -> str:
    """The id the auth service revokes the signed-in session by ("" without a session)."""
    value = current(key)
    return token_session_id(str(value.get("token", ""))) if value else ""


@lru_cache(maxsize=4096)
def token_session_id(token: str) -> str:
    """The id an access token is revoked by: its session's (``sid``), or for a token issued outside a
    session (tools, the bench) its own (``jti``), as the auth service records it. Read without
    verifying: the token comes from this gateway's own signed cookie, and the services verify it
    whenever it is sent to them."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    found = (claims.get("sid") or claims.get("jti")) if isinstance(claims, dict) else None
    return found if isinstance(found, str) else ""


def client(service: str, key: str = EMPLOYER_KEY) -> ServiceClient:
    value = current(key)
    return ServiceClient(service, fresh_token(key) if value else None)


def auth_for_browser() -> ServiceClient:
    """The auth service, told whose browser is asking: it rate-limits logins per client address."""
    auth = ServiceClient("auth")
    auth.headers["X-Forwarded-For"] = request.remote_addr or ""
    return auth


def fresh_token(key: str) -> str:
    """The session's access token, renewed first if it is about to expire (ServiceError 401 when the
    auth service has ended the session)."""
    value = current(key)
    if value is None:
        raise ServiceError("gateway", 401, "请先登录")
    # A cookie set before the refresh token had its own cookie still holds it: moved at the renewal.
    refresh_token = refresh.get(key) or str(value.get("refresh_token") or "")
    if refresh_token and value.get("expires_at", 0) - time.time() < RENEW_MARGIN:
        renewed = ServiceClient("auth").post("/auth/refresh", {"refresh_token": refresh_token})
        value.update(token=renewed["token"], expires_at=renewed["expires_at"], principal=renewed["principal"])
        value.pop("refresh_token", None)
        session[key] = value
        refresh.put(key, renewed.get("refresh_token") or refresh_token)
    return str(value["token"])


def json_object() -> dict[str, Any]:
    """The body of a script's POST; the page's scripts send an object, anything else counts as empty."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def local_path(target: str) -> bool:
    """A path on this site to send the browser back to. Browsers read a backslash as a slash and drop
    tabs and newlines, so ``/\\evil.example`` or ``/<TAB>/evil.example`` would leave the site."""
    return target.startswith("/") and not target.startswith("//") and "\\" not in target \
        and not CONTROL.search(target)


def return_path() -> str:
    """Where the login should send the user back to: this page with its query string."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def next_path(default: str) -> str:
    """The login's ?next= when it is a path on this site, else the default page."""
    target = request.args.get("next", "")
    return target if target and local_path(target) else default


def idle_for(key: str) -> float:
    return _idle(current(key) or {})


def _idle(value: dict[str, Any]) -> float:
    return time.time() - float(value.get("last_active", 0))


def stream_employer(app: Flask, cookie_header: str) -> tuple[str, float, str, str] | None:
    """For the live stream, served beside this app (gateway/stream.py): the employer number of the
    signed-in employer session the request's Cookie header carries, when the stream must end (the
    session's idle limit or its absolute limit, whichever comes first), the session's live id and its
    id at the auth service (the stream also ends when the session ends at either). The cookie is
    opened by this app's own session interface, so it is checked exactly as every page checks it
    (signature, age); None without an employer session, past either limit, or from before sessions
    recorded their start (its absolute limit is not known)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "gateway", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "HTTP_COOKIE": cookie_header}
    stored = app.session_interface.open_session(app, app.request_class(environ))
    value = stored.get(EMPLOYER_KEY) if stored is not None else None
    if not isinstance(value, dict) or not isinstance(value.get(STARTED_AT), int | float):
        return None
    settings = get_settings()
    ends_at = min(float(value.get("last_active", 0)) + settings.session_idle_seconds,
                  float(value[STARTED_AT]) + settings.session_absolute_seconds)
    if ends_at <= time.time():
        return None
    return (str(value["principal"]["emp"]), ends_at, str(value.get(LIVE_ID) or ""),
            token_session_id(str(value.get("token", ""))))


def touch(key: str) -> None:
    value = current(key)
    if value is not None:
        value["last_active"] = time.time()
        session[key] = value


def revoke(key: str) -> None:
    """End the session at the auth service (every service refuses its tokens), then drop the cookie."""
    if current(key) is not None:
        try:
            client("auth", key).post("/auth/logout")
        except ServiceError as exc:
            if exc.status != 401:  # 401: already ended there
                current_app.logger.warning("logout: the auth service did not answer (%s); cookie dropped", exc)
    end(key)


def end_if_idle(key: str) -> bool:
    """Past the idle limit: revoke the session and say so on the login page."""
    if current(key) is None or idle_for(key) <= get_settings().session_idle_seconds:
        return False
    revoke(key)
    flash(IDLE_MESSAGE, "error")
    return True


def login_required(key: str, login_endpoint: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current(key) is None or end_if_idle(key):
                return redirect(url_for(login_endpoint, next=return_path()))
            if request.headers.get(LIVE_HEADER) != "1":  # a live refresh is not the user's activity
                touch(key)
            try:
                return view(*args, **kwargs)
            except ServiceError as exc:
                if exc.status == 401:  # expired or revoked: log in again
                    end(key)
                    flash(exc.message, "error")
                    return redirect(url_for(login_endpoint, next=return_path()))
                raise

        return wrapper  # type: ignore[return-value]

    return decorator


def register_context(app: Flask) -> None:
    @app.context_processor
    def _inject() -> dict[str, Any]:
        employer = current(EMPLOYER_KEY)
        center = current(CENTER_KEY)
        area = CENTER_KEY if (request.blueprint or "") in CENTER_BLUEPRINTS or request.path.startswith("/admin/") \
            else EMPLOYER_KEY
        settings = get_settings()
        own = current(area)
        return {
            # 大字模式 of the page's own operator (base.html scales the page's text).
            "large_text": bool(own and own.get("large_text")),
            "employer_user": employer["principal"] if employer else None,
            "sound_enabled": employer.get("sound_enabled", True) if employer else False,
            "center_user": center["principal"] if center else None,
            "permitted": permitted,
            # The idle warning of the page's own session (static/idle.js).
            "idle_session": {"area": "center" if area == CENTER_KEY else "employer",
                             "seconds": settings.session_idle_seconds,
                             "warning": min(settings.session_idle_warning_seconds, settings.session_idle_seconds)}
            if current(area) is not None else None,
        }
