"""The admin console's pages: each declares, once, the center permission it needs.

``@console("process_design")`` (under ``@bp.route``) signs the center account in (the login page
otherwise) and answers the Chinese 403 page to an account without that permission; ``@console()``
is any center account (approving needs only the task's group). ``@console_open`` marks the login
and logout. The app refuses to start with a console page that declares nothing, the menu shows only
what the account may open (``can`` in the templates), and the services check the same permission again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, render_template

from hall_common.access import NO_RIGHT
from hall_common.permissions import CENTER_PERMISSIONS

from . import session as sessions
from .session import CENTER_BLUEPRINTS, CENTER_KEY

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__console_permissions__"
OPEN = "open"


def holds(permission: str) -> bool:
    """Whether the signed-in center account holds this center permission."""
    if permission not in CENTER_PERMISSIONS:
        raise ValueError(f"unknown center permission {permission!r}")
    value = sessions.current(CENTER_KEY)
    return value is not None and permission in value["principal"].get("perms", [])


def console(*permissions: str) -> Callable[[F], F]:
    """A console page for center accounts holding any of ``permissions`` (none: every center account)."""
    unknown = [p for p in permissions if p not in CENTER_PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown center permissions {unknown}")
    signed_in = sessions.login_required(CENTER_KEY, "admin.login")

    def decorator(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if permissions and not any(holds(p) for p in permissions):
                return render_template("error.html", message=NO_RIGHT), 403
            return view(*args, **kwargs)

        wrapper = signed_in(checked)
        setattr(wrapper, ATTRIBUTE, tuple(permissions))
        return wrapper  # type: ignore[return-value]

    return decorator


def console_open(view: F) -> F:
    """The console's login and logout: no session needed."""
    setattr(view, ATTRIBUTE, OPEN)
    return view


def declared(app: Flask, endpoint: str) -> tuple[str, ...] | str | None:
    return getattr(app.view_functions.get(endpoint), ATTRIBUTE, None)


def console_endpoints(app: Flask) -> list[str]:
    return sorted(e for e in app.view_functions if e.partition(".")[0] in CENTER_BLUEPRINTS)


def check_declared(app: Flask) -> None:
    missing = [e for e in console_endpoints(app) if declared(app, e) is None]
    if missing:
        raise RuntimeError(f"console pages without a permission declaration (gateway.console.console): {missing}")


def register(app: Flask) -> None:
    app.jinja_env.globals["can"] = holds
    check_declared(app)
