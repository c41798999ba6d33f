"""Liveness and readiness of a process (Kubernetes probes, compose healthchecks, docs/deploy.md).

Liveness says only that the process answers: a restart cures nothing a dependency's outage causes, so
it never looks at the database or Redis. Readiness says whether the process can do its work now: its
database (a service) and Redis (every process) answer within a second. A process that is not ready
is taken out of its Service's endpoints until it is, and is not restarted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa
from flask import Blueprint as FlaskBlueprint
from flask import Flask
from flask_smorest import Blueprint
from redis import Redis

from . import db
from .access import allow
from .settings import get_settings

Check = Callable[[], None]
TIMEOUT_SECONDS = 1.0


@lru_cache(maxsize=4)
def _redis(url: str) -> Redis:
    # One client per process and URL: a probe every few seconds must not open a connection each time.
    return Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)


def check_redis() -> None:
    _redis(get_settings().redis_url).ping()


def check_session_database() -> None:
    db.session().execute(sa.text("SELECT 1"))


def check_database_url(url: str) -> None:
    """A database outside any app (the workers' probe command): a fresh engine, disposed at once."""
    args = {"connect_timeout": 1} if url.startswith("postgresql") else {}
    engine = sa.create_engine(url, connect_args=args)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    """Every check runs (the answer names each failing dependency), none raises."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure is the answer: which dependency, and why
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            results[name] = f"{type(exc).__name__}: {first}"[:200]
    return all(v == "ok" for v in results.values()), results


def ready_answer(name: str, checks: dict[str, Check]) -> tuple[dict[str, object], int]:
    ok, results = run_checks(checks)
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "service": name, "checks": results}
    return body, 200 if ok else 503


def service_blueprint(name: str) -> Blueprint:
    """A service's ``/health`` (kept as it was: the database answers), ``/health/live``, ``/health/ready``."""
    blp = Blueprint("health", __name__, description="Liveness and readiness")
    checks: dict[str, Check] = {"database": check_session_database, "redis": check_redis}

    @blp.route("/health")
    @allow("public")
    @blp.response(200)
    def health() -> dict[str, str]:
        check_session_database()
        return {"status": "ok", "service": name}

    @blp.route("/health/live")
    @allow("public")
    @blp.response(200)
    def live() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @blp.route("/health/ready")
    @allow("public")
    @blp.response(200)
    @blp.alt_response(503, description="A dependency does not answer: the checks name it")
    def ready() -> tuple[dict[str, object], int]:
        return ready_answer(name, checks)

    return blp


def init_gateway(app: Flask) -> None:
    """The gateway's probes: it has no database; it needs Redis for the live streams and the limits.
    The services are not checked: one service down must not take every gateway out of rotation."""
    bp = FlaskBlueprint("health", __name__)

    @bp.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @bp.get("/health/ready")
    def ready() -> tuple[dict[str, object], int]:
        return ready_answer("gateway", {"redis": check_redis})

    app.register_blueprint(bp)


def reset() -> None:
    _redis.cache_clear()
