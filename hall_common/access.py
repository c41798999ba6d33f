"""Who may call a route: declared once above each route, checked in one place before the route runs.

Every route of every service says who it serves with ``@allow(...)``; the app factory refuses to
start a service with an undeclared route (so a new route cannot be forgotten), the check runs in the
request's first hook (before the body is read or any object looked up, so a caller without the right
gets 403, not a 422 about a body it had no business sending), and the declaration is written into
the route's OpenAPI operation as ``x-access``, where the route sweep tests read it.

The words of a declaration:

- ``public``: no token (liveness, the API document, the login steps, which carry their own proof);
- ``signed_in``: any employer operator or center account (its own password, logout, preferences);
- ``employer``: an employer operator; the route still checks the employer in its path and the
  employer permission with ``require_employer`` (objects of another employer answer as missing);
- ``center``: any center account (approving needs only membership of the task's candidate group);
- ``center:<permission>``: a center account holding that center permission
  (``hall_common.permissions.CENTER_PERMISSIONS``);
- ``service:<permission>``: a service token carrying that permission (``employer_list``, ``push``).

A route answers a caller that matches any of its words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask
from flask_smorest import Blueprint

from .errors import BusinessError
from .permissions import CENTER_PERMISSIONS, SERVICE_PERMISSIONS

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__hall_access__"
OPENAPI_KEY = "x-access"
PUBLIC, SIGNED_IN, EMPLOYER, CENTER, SERVICE = "public", "signed_in", "employer", "center", "service"
# Endpoints the libraries add, which no decorator of ours can reach: the API document is public.
LIBRARY_ENDPOINTS = {"api-docs.openapi_json": (PUBLIC,), "static": (PUBLIC,)}
NO_RIGHT = "当前账号无权进行该操作"
EMPLOYER_ONLY = "该业务只能由单位经办人办理"


@dataclass(frozen=True)
class Word:
    role: str  # public, signed_in, employer, center or service
    permission: str | None = None

    def admits(self, role: str, permissions: frozenset[str]) -> bool:
        if self.role == PUBLIC:
            return True
        if self.role == SIGNED_IN:
            return role in (EMPLOYER, CENTER)
        return role == self.role and (self.permission is None or self.permission in permissions)


def parse(word: str) -> Word:
    role, _, permission = word.partition(":")
    if role in (PUBLIC, SIGNED_IN, EMPLOYER) and not permission:
        return Word(role)
    if role == CENTER and (not permission or permission in CENTER_PERMISSIONS):
        return Word(role, permission or None)
    if role == SERVICE and permission in SERVICE_PERMISSIONS:
        return Word(role, permission)
    raise ValueError(f"unknown access word {word!r}")


def allow(*words: str) -> Callable[[F], F]:
    """Declare who may call the route (above ``@blp.arguments`` and ``@blp.response``, below
    ``@blp.route``). Unknown words and permissions fail at import, not at the first request."""
    if not words:
        raise ValueError("allow() needs at least one word")
    parsed = tuple(parse(w) for w in words)

    def decorator(func: F) -> F:
        documented: Any = Blueprint.doc(**{OPENAPI_KEY: list(words)})(func)
        setattr(documented, ATTRIBUTE, parsed)
        return documented  # type: ignore[no-any-return]

    return decorator


def declared(app: Flask, endpoint: str | None) -> tuple[Word, ...] | None:
    if endpoint is None:
        return None
    if endpoint in LIBRARY_ENDPOINTS:
        return tuple(parse(w) for w in LIBRARY_ENDPOINTS[endpoint])
    view = app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, None)


def check_declared(app: Flask) -> None:
    """Every route states who it serves: a service with an undeclared route does not start."""
    missing = sorted(e for e in app.view_functions if declared(app, e) is None)
    if missing:
        raise RuntimeError(f"routes without an access declaration (hall_common.access.allow): {missing}")


def is_public(words: tuple[Word, ...] | None) -> bool:
    return words is not None and any(w.role == PUBLIC for w in words)


def enforce(words: tuple[Word, ...], role: str, permissions: frozenset[str]) -> None:
    """Refuse a caller that no word admits, with the message that says what it lacks."""
    if any(w.admits(role, permissions) for w in words):
        return
    roles = {w.role for w in words}
    if role == CENTER and CENTER not in roles and EMPLOYER in roles:
        raise BusinessError(EMPLOYER_ONLY, 403)
    raise BusinessError(NO_RIGHT, 403)
