"""The gateway's sessions: the token from the auth service and who it belongs to."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError

from hall_common.client import ServiceClient, ServiceError

F = TypeVar("F", bound=Callable[..., Any])
EMPLOYER_KEY, CENTER_KEY = "employer_session", "center_session"


def start(key: str, login: dict[str, Any]) -> None:
    session[key] = {"token": login["token"], "principal": login["principal"],
                    "sound_enabled": login.get("sound_enabled", True)}


def permitted(permission: str) -> bool:
    value = current(EMPLOYER_KEY)
    return value is not None and permission in value["principal"].get("perms", [])


def end(key: str) -> None:
    session.pop(key, None)


def current(key: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = session.get(key)
    return value


def principal(key: str = EMPLOYER_KEY) -> dict[str, Any]:
    value = current(key)
    assert value is not None
    result: dict[str, Any] = value["principal"]
    return result


def client(service: str, key: str = EMPLOYER_KEY) -> ServiceClient:
    value = current(key)
    return ServiceClient(service, value["token"] if value else None)


def login_required(key: str, login_endpoint: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current(key) is None:
                return redirect(url_for(login_endpoint, next=request.path))
            try:
                return view(*args, **kwargs)
            except ServiceError as exc:
                if exc.status == 401:  # expired or revoked: log in again
                    end(key)
                    return redirect(url_for(login_endpoint, next=request.path))
                raise

        return wrapper  # type: ignore[return-value]

    return decorator


def register_context(app: Flask) -> None:
    @app.context_processor
    def _inject() -> dict[str, Any]:
        employer = current(EMPLOYER_KEY)
        center = current(CENTER_KEY)
        return {
            "employer_user": employer["principal"] if employer else None,
            "sound_enabled": employer.get("sound_enabled", True) if employer else False,
            "center_user": center["principal"] if center else None,
            "permitted": permitted,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        from flask import jsonify, render_template

        message = "页面已过期，请刷新页面后重试"
        if request.is_json:
            return jsonify({"message": message}), 400
        return render_template("error.html", message=message), 400

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Any:
        from flask import render_template

        return render_template("error.html", message=error.message), error.status if error.status >= 400 else 500
