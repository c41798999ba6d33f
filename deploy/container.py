"""The container image's entry point: ``python -m deploy.container COMMAND`` (the Dockerfile's ENTRYPOINT).

One image runs every process of the hall; the command picks which (docs/deploy.md):

  service NAME          a service under gunicorn (NAME: auth, employer, member, payment, workflow, notify)
  gateway               the gateway (pages in threads, live streams on the event loop)
  worker QUEUES         a Celery event worker for the services named (comma separated, e.g. workflow,notify)
  heavy                 the heavy-job worker (imports, interest runs): one job at a time
  beat                  Celery beat (fires only while it holds the Redis lock: hall_common/beat_lock.py)
  create-databases      create each service's PostgreSQL database that is missing (HALL_POSTGRES_ADMIN_URL)
  migrate [--keys] [--demo]
                        every service's schema to head; --keys: also the UKey CA, the print signing key and
                        the services' own tokens in HALL_VAR_DIR where missing (compose); --demo: the demo data
  own-tokens            renew the services' own tokens in HALL_VAR_DIR where due, and print them
  check                 the readiness of a process without HTTP (worker, beat): Redis and its databases

The servers replace this process (exec), so they receive the supervisor's SIGTERM themselves and shut
down gracefully: gunicorn finishes its requests, a Celery worker its running task (warm shutdown).
Extra gunicorn options (``--workers 2``) come from gunicorn's own ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from hall_common.celery_app import HEAVY_QUEUE
from hall_common.settings import DEFAULT_PORTS, SERVICES

# Longer than the event handlers' hard limit (HALL_EVENT_HARD_TIME_LIMIT): a request never waits on one.
GUNICORN_TIMEOUT = "30"
# What a stopping web process gives its requests in flight; the deployments allow a little more.
GRACEFUL_SECONDS = "20"
CELERY_FLAGS = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]


class UsageError(ValueError):
    pass


def _queues(value: str) -> list[str]:
    names = [n for n in value.split(",") if n]
    unknown = [n for n in names if n not in SERVICES]
    if not names or unknown:
        raise UsageError(f"worker QUEUES: comma-separated services out of {', '.join(SERVICES)}; not {value!r}")
    return names


def _gunicorn(name: str, worker: list[str], target: str) -> list[str]:
    return ["gunicorn", *worker, "--bind", f"0.0.0.0:{DEFAULT_PORTS[name]}", "--timeout", GUNICORN_TIMEOUT,
            "--graceful-timeout", GRACEFUL_SECONDS, "--no-control-socket", "--access-logfile", "-", target]


def server_command(args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The program a long-running command execs, and the settings it adds to the environment."""
    command, rest = (args[0], list(args[1:])) if args else ("", [])
    if command == "service" and len(rest) == 1 and rest[0] in SERVICES:
        return _gunicorn(rest[0], ["-k", "gthread", "--threads", "4"], f"services.{rest[0]}:create_app()"), {}
    if command == "gateway" and not rest:
        return _gunicorn("gateway", ["-k", "gateway.asgi.Worker"], "gateway.asgi:create_asgi()"), {}
    if command == "worker" and len(rest) == 1:
        queues = _queues(rest[0])
        # The solo pool runs each event in the process that received it (deploy/workers.py says why);
        # scale with more replicas, not a bigger pool. Each worker registers only its services' tasks.
        return (["celery", "-A", "services.worker", "worker", "-P", "solo", "-Q", ",".join(queues),
                 "-n", f"{'-'.join(queues)}@%h", *CELERY_FLAGS], {"HALL_WORKER_SERVICES": ",".join(queues)})
    if command == "heavy" and not rest:
        return (["celery", "-A", "services.heavy", "worker", "-P", "solo", "-Q", HEAVY_QUEUE,
                 "--prefetch-multiplier", "1", "-n", "heavy@%h", *CELERY_FLAGS], {})
    if command == "beat" and not rest:
        # The schedule file only remembers last runs; a new pod starts it afresh (the tasks are idempotent).
        return (["celery", "-A", "services.worker", "beat", "-l", "INFO",
                 "-s", "/tmp/celerybeat-schedule"], {})
    raise UsageError(f"unknown command: {' '.join(args) or '(none)'}")


COMMANDS = ("service", "gateway", "worker", "heavy", "beat", "create-databases", "migrate", "own-tokens", "check")


def create_databases() -> None:
    """Each service's database named by its HALL_<SERVICE>_DATABASE_URL, created through the server's
    administrative URL when missing (compose's init job; on a managed server the DBA does this)."""
    import sqlalchemy as sa

    from hall_common.settings import get_settings

    admin = sa.create_engine(os.environ["HALL_POSTGRES_ADMIN_URL"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for service in SERVICES:
                name = sa.engine.make_url(get_settings().database_url(service)).database
                if not name:
                    raise UsageError(f"HALL_{service.upper()}_DATABASE_URL names no PostgreSQL database")
                exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if exists.first() is None:
                    # A name cannot be a bind parameter; quoting it keeps it one identifier.
                    connection.execute(sa.text(f"CREATE DATABASE {connection.dialect.identifier_preparer.quote(name)}"))
                    print(f"created database {name}", flush=True)
    finally:
        admin.dispose()


def migrate(flags: list[str]) -> None:
    from hall_common import migrate as migrations

    from . import prepare, seed

    flags = [f for f in flags if f]  # compose passes an empty flag for "no demo data"
    unknown = set(flags) - {"--keys", "--demo"}
    if unknown:
        raise UsageError(f"migrate: unknown flags {sorted(unknown)}")
    for service in SERVICES:
        migrations.upgrade(service)
        print(f"{service}: schema at head", flush=True)
    if "--keys" in flags:
        prepare.ensure_ca()
        prepare.ensure_print_signing_key()
    if "--demo" in flags:
        seed.main()
    if "--keys" in flags:
        prepare.ensure_service_tokens()


def own_tokens() -> None:
    from services.auth.service_tokens import ensure_own_token, token_path

    from .prepare import OWN_TOKENS

    for service, permissions in OWN_TOKENS:
        ensure_own_token(service, permissions)
        print(f"{service}.jwt: {token_path(service).read_text().strip()}")


def check() -> int:
    """Exit 0 when Redis and the databases of the worker's services answer (HALL_WORKER_SERVICES)."""
    from functools import partial

    from hall_common import health
    from hall_common.settings import get_settings

    settings = get_settings()
    checks: dict[str, health.Check] = {"redis": health.check_redis}
    for service in settings.worker_service_list:
        checks[service] = partial(health.check_database_url, settings.database_url(service))
    ok, results = health.run_checks(checks)
    print(" ".join(f"{name}={result}" for name, result in results.items()), flush=True)
    return 0 if ok else 1


def main(args: list[str]) -> int:
    try:
        if args[:1] == ["create-databases"]:
            create_databases()
        elif args[:1] == ["migrate"]:
            migrate(args[1:])
        elif args == ["own-tokens"]:
            own_tokens()
        elif args == ["check"]:
            return check()
        else:
            argv, env = server_command(args)
            os.execvpe(argv[0], argv, {**os.environ, **env})
    except UsageError as exc:
        print(f"error: {exc}\n{__doc__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
