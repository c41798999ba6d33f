"""The probes a supervisor asks (docs/deploy.md): liveness answers while the process runs; readiness
answers 503 naming the dependency (database, Redis) that does not answer, and 200 once it does."""

from __future__ import annotations

import pytest

import services.member as member_service
from gateway import create_app as create_gateway
from hall_common.security import KeyProvider
from hall_common.settings import reset_settings
from services.auth.keys import public_key_pem

from .conftest import make_app
from .homecache_support import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture used below


def test_a_service_is_live_but_not_ready_while_its_redis_does_not_answer() -> None:
    client = make_app("employer", seed=False).test_client()
    assert client.get("/health/live").json == {"status": "ok", "service": "employer"}
    answer = client.get("/health/ready")
    assert answer.status_code == 503
    assert answer.json["status"] == "unavailable"
    assert answer.json["checks"]["database"] == "ok"
    assert answer.json["checks"]["redis"].startswith("ConnectionError")
    assert client.get("/health").json == {"status": "ok", "service": "employer"}  # unchanged for old callers


def test_a_service_is_ready_when_its_database_and_redis_answer(redis_server: RedisServer) -> None:
    client = make_app("payment", seed=False).test_client()
    answer = client.get("/health/ready")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "service": "payment", "checks": {"database": "ok", "redis": "ok"}}
    redis_server.stop()
    assert client.get("/health/ready").status_code == 503  # the next probe sees the outage


def test_a_service_whose_database_does_not_answer_is_not_ready(redis_server: RedisServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_MEMBER_DATABASE_URL", "postgresql+psycopg://hall@127.0.0.1:1/member")
    reset_settings()
    app = member_service.create_app({"TESTING": True}, keys=KeyProvider(public_key_pem()))
    answer = app.test_client().get("/health/ready")
    assert answer.status_code == 503
    assert answer.json["checks"]["database"].startswith("OperationalError")
    assert answer.json["checks"]["redis"] == "ok"
    assert app.test_client().get("/health/live").status_code == 200  # alive: a restart would not help


def test_the_gateway_needs_no_session_for_its_probes_and_is_ready_with_redis(redis_server: RedisServer) -> None:
    client = create_gateway({"TESTING": True}).test_client()
    assert client.get("/health/live").json == {"status": "ok", "service": "gateway"}
    assert client.get("/health/ready").json == {"status": "ok", "service": "gateway", "checks": {"redis": "ok"}}
    redis_server.stop()
    answer = client.get("/health/ready")
    assert answer.status_code == 503
    assert answer.json["checks"]["redis"].startswith("ConnectionError")
