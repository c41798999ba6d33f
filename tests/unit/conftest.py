"""Unit tests: one service app at a time on a migrated SQLite file, tokens signed by a test key.

Nothing is relayed (the broker URL is a closed port), so outbox rows stay for the test to inspect.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from deploy import seed as demo_seed
from hall_common import db, migrate
from hall_common.celery_app import reset_celery
from hall_common.security import KeyProvider, Principal
from hall_common.settings import reset_settings

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


# The test center user is the demo admin: center_admin and every default group (deploy/demo_data.py).
CENTER_PERMISSIONS = ("approve", "center_admin")
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

    from hall_common.runtime import get_runtime

    with app.app_context():
        model = get_runtime().plumbing.outbox
        return [json.loads(r.payload) for r in db.session().scalars(select(model).order_by(model.id))]
