"""The image's one-shot commands (deploy/container.py) as the compose file and the Job run them: the
databases created once, the migration job idempotent, the workers' readiness check."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from deploy.container import main
from hall_common.settings import SERVICES, get_settings, reset_settings

from .homecache_support import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture used below


def test_create_databases_makes_each_services_database_once(postgres_url: str, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    server = sa.engine.make_url(postgres_url)
    prefix = f"hall_cd_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HALL_POSTGRES_ADMIN_URL", server.render_as_string(hide_password=False))
    for service in SERVICES:
        url = server.set(database=f"{prefix}_{service}").render_as_string(hide_password=False)
        monkeypatch.setenv(f"HALL_{service.upper()}_DATABASE_URL", url)
    reset_settings()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        assert main(["create-databases"]) == 0
        assert capsys.readouterr().out.count("created database") == len(SERVICES)
        assert main(["create-databases"]) == 0  # a restarted init job changes nothing
        assert "created" not in capsys.readouterr().out
        with admin.connect() as connection:
            names = connection.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                       {"p": f"{prefix}_%"}).scalars().all()
        assert sorted(names) == sorted(f"{prefix}_{s}" for s in SERVICES)
    finally:
        with admin.connect() as connection:
            for service in SERVICES:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_job_makes_the_keys_once_and_can_run_again(hall_env: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--keys"]) == 0
    first = capsys.readouterr().out
    assert all(f"{s}: schema at head" in first for s in SERVICES)
    assert "created the UKey CA" in first and "created the print signing key" in first
    made = {p.relative_to(hall_env).as_posix(): p.read_bytes() for p in hall_env.rglob("*")
            if p.is_file() and not p.name.endswith((".db", "-wal", "-shm"))}
    assert {"auth_ca_key.pem", "auth_ca_cert.pem", "print_signing_key", "service_tokens/notify.jwt",
            "service_tokens/payment.jwt", "service_tokens/employer.jwt"} <= set(made)
    assert main(["migrate", "--keys", ""]) == 0  # compose's "no demo data" passes an empty flag
    second = capsys.readouterr().out
    assert "created" not in second and "issued" not in second
    for name, content in made.items():  # nothing replaced: a new CA would invalidate every UKey
        assert (hall_env / name).read_bytes() == content, name
    assert main(["own-tokens"]) == 0  # what an operator puts in the Kubernetes Secret
    printed = capsys.readouterr().out.splitlines()
    for service in ("notify", "payment", "employer"):
        token = (hall_env / "service_tokens" / f"{service}.jwt").read_text().strip()
        assert f"{service}.jwt: {token}" in printed


def test_a_wrong_command_says_how_to_use_the_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--everything"]) == 2
    assert main(["worker", "billing"]) == 2
    assert "usage" not in capsys.readouterr().out
    assert main(["serve"]) == 2
    assert "service NAME" in capsys.readouterr().err


def test_the_workers_check_fails_without_redis_and_passes_with_it(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HALL_WORKER_SERVICES", "payment,notify")
    reset_settings()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "redis=ConnectionError" in out and "payment=ok" in out and "notify=ok" in out


def test_the_workers_check_passes_when_redis_and_the_databases_answer(redis_server: RedisServer,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HALL_WORKER_SERVICES", "workflow")
    monkeypatch.setenv("HALL_WORKFLOW_DATABASE_URL", "postgresql+psycopg://hall@127.0.0.1:1/none")
    reset_settings()
    assert main(["check"]) == 1
    assert "workflow=OperationalError" in capsys.readouterr().out
    monkeypatch.delenv("HALL_WORKFLOW_DATABASE_URL")
    reset_settings()
    assert get_settings().worker_service_list == ["workflow"]
    assert main(["check"]) == 0
    assert capsys.readouterr().out.strip() == "redis=ok workflow=ok"
