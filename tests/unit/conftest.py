"""Unit tests: one service app at a time on a migrated SQLite file, tokens signed by a test key.

Nothing is relayed (the broker URL is a closed port), so outbox rows stay for the test to inspect.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from deploy import seed as demo_seed
from hall_common import db, logs, migrate
from hall_common.celery_app import reset_celery
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from hall_common.security import KeyProvider, Principal
from hall_common.settings import reset_settings

# The server of the throwaway PostgreSQL databases: HALL_TEST_POSTGRES, or HALL_UNIT_POSTGRES (.ci/run sets it
# for `make test`, whose integration suite stays on SQLite), or the local one if it answers.
PG_REQUIRED = os.environ.get("HALL_TEST_POSTGRES") or os.environ.get("HALL_UNIT_POSTGRES")
PG_SERVER = PG_REQUIRED or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EMPLOYER_NO = "100100001"
OTHER_EMPLOYER_NO = "200200002"


@pytest.fixture(scope="session", autouse=True)
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> None:
    from .ukey_support import init_tokens

    init_tokens(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(autouse=True)
def hall_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("HALL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HALL_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("HALL_RELAY_INLINE", "false")
    # Most tests only need a center session: the second factor's own tests turn it on (auth/test_second_factor.py).
    monkeypatch.setenv("HALL_CENTER_SECOND_FACTOR", "false")
    for key in [k for k in __import__("os").environ if k.startswith("HALL_") and k.endswith("_DATABASE_URL")]:
        monkeypatch.delenv(key)
    _reset()
    yield tmp_path
    _reset()


def _reset() -> None:
    from services.auth.keys import ca, private_key_pem

    reset_settings()
    reset_celery()
    private_key_pem.cache_clear()
    ca.cache_clear()


def make_app(service: str, seed: bool = True) -> Flask:
    from services.auth.keys import ca_exists, init_ca, public_key_pem

    if service == "auth" and not ca_exists():
        init_ca()  # the explicit step of a new installation: the auth service refuses to start without a CA
    migrate.upgrade(service)
    module = importlib.import_module(f"services.{service}")
    app: Flask = module.create_app({"TESTING": True}, keys=KeyProvider(public_key_pem()))
    if seed:
        with app.app_context():
            demo_seed.SEEDERS[service]()
            db.session().commit()
    return app


# The test center user is the demo admin: every center permission and every default group
# (deploy/demo_data.py).
CENTER_PERMISSIONS = tuple(ALL_CENTER_PERMISSIONS)
CENTER_GROUPS = ("handler", "reviewer", "chief")


def token_for(role: str = "employer", employer_no: str | None = EMPLOYER_NO, perms: tuple[str, ...] = (),
              groups: tuple[str, ...] | None = None, login_name: str | None = None) -> str:
    from hall_common.permissions import ALL_PERMISSIONS as EMPLOYER_PERMISSIONS
    from services.auth.services import issue_token

    center = role != "employer"
    principal = Principal(
        login_name=login_name or employer_no or "center01",
        role=role,
        display_name="中心审核员李明" if center else "王晓燕",
        employer_no=None if center else employer_no,
        employer_name="太原市示例科技有限公司",
        permissions=frozenset(perms or (CENTER_PERMISSIONS if center else EMPLOYER_PERMISSIONS)),
        groups=frozenset(CENTER_GROUPS if groups is None and center else groups or ()),
    )
    return issue_token(principal)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def employer_headers() -> dict[str, str]:
    return auth(token_for())


@pytest.fixture
def other_employer_headers() -> dict[str, str]:
    return auth(token_for(employer_no=OTHER_EMPLOYER_NO))


@pytest.fixture
def center_headers() -> dict[str, str]:
    return auth(token_for("center", None))


@pytest.fixture
def app_for() -> Callable[..., Flask]:
    return make_app


def client_of(app: Flask) -> FlaskClient:
    return app.test_client()


def outbox_events(app: Flask) -> list[dict[str, Any]]:
    import json

    from sqlalchemy import select

    from hall_common.event_schemas import problems
    from hall_common.runtime import get_runtime

    with app.app_context():
        model = get_runtime().plumbing.outbox
        events = [json.loads(r.payload) for r in db.session().scalars(select(model).order_by(model.id))]
    # Every event a test sees the code emit is as the catalog (and docs/events.md) says.
    assert [p for event in events for p in problems(event)] == []
    return events


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server. Skipped when no server answers, unless
    HALL_TEST_POSTGRES or HALL_UNIT_POSTGRES is set: then a missing server fails the test."""
    server = sa.engine.make_url(PG_SERVER)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
    try:
        connection = admin.connect()
    except sa.exc.OperationalError:
        if PG_REQUIRED:
            raise
        pytest.skip("no PostgreSQL server answers and neither HALL_TEST_POSTGRES nor HALL_UNIT_POSTGRES is set")
    name = f"hall_unit_{uuid.uuid4().hex[:12]}"
    connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.close()
        admin.dispose()


class AnyDb:
    """One of the two databases a service's app may run on: SQLite, or a throwaway PostgreSQL database
    (where concurrent transactions truly run at once and row locks matter)."""

    def __init__(self, name: str, url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
        self.name, self.url, self._monkeypatch = name, url, monkeypatch
        self.apps: list[Flask] = []

    def app(self, service: str, make: Callable[[], Flask] | None = None) -> Flask:
        """The service's app (make_app(service) unless make is given) on this database."""
        if self.url:
            self._monkeypatch.setenv(f"HALL_{service.upper()}_DATABASE_URL", self.url)
            reset_settings()
        made = make() if make else make_app(service)
        self.apps.append(made)
        return made


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnyDb]:
    """Runs the test twice: on SQLite, then on a throwaway PostgreSQL database (see postgres_url)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    chosen = AnyDb(request.param, url, monkeypatch)
    yield chosen
    for made in chosen.apps:
        db.get_db(made).dispose()  # no pooled connection left to keep the PostgreSQL database from its drop


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the processes' JSON handler writes, for the tests to read."""
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
