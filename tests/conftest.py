"""The running system for integration and browser tests: real Redis, real gunicorn service
processes, a real Celery worker process and beat, on free ports under a temporary directory.

With HALL_TEST_POSTGRES set (a SQLAlchemy URL of a PostgreSQL server), every service gets its own
fresh PostgreSQL database instead of a SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from deploy.stack import Stack, free_port
from hall_common.settings import DEFAULT_PORTS, SERVICES

from . import reliability


def _postgres_databases(server_url: str, create: bool, tag: str = "") -> dict[str, str]:
    """Drop, then (if create) make, one database per service on the PostgreSQL server (``tag``: those
    of a second stack beside the session's)."""
    base = sa.engine.make_url(server_url)
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    urls = {}
    with engine.connect() as connection:
        for service in SERVICES:
            name = f"hall_it_{os.getpid()}{tag}_{service}"
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            urls[service] = base.set(database=name).render_as_string(hide_password=False)
    engine.dispose()
    return urls


# Failing events give up quickly, an event held by a killed worker returns within seconds and one lost
# around a Redis restart is sent again soon, so the event tests stay short;
# HALL_TEST_VISIBILITY_TIMEOUT=60 measures the default recovery.
VISIBILITY_TIMEOUT = int(os.environ.get("HALL_TEST_VISIBILITY_TIMEOUT", "15"))
EVENT_ENV = {
    "HALL_EVENT_MAX_RETRIES": "3",
    "HALL_EVENT_RETRY_BACKOFF": "0.5",
    "HALL_EVENT_RETRY_BACKOFF_MAX": "2",
    "HALL_EVENT_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "HALL_EVENT_RESTORE_INTERVAL": "2",
    # Later than the visibility timeout, as by default: a killed worker's event comes back by Redis.
    "HALL_EVENT_CONFIRM_AFTER": str(VISIBILITY_TIMEOUT + 15),
}


@contextmanager
def running_stack(var_dir: Path, extra_env: Mapping[str, str] | None = None, tag: str = "") -> Iterator[Stack]:
    """A whole stack under ``var_dir`` as the integration tests run it, with ``extra_env`` on top (a
    test module that needs the processes started with other settings runs a second one, ``tag``)."""
    postgres = os.environ.get("HALL_TEST_POSTGRES")
    database_urls = _postgres_databases(postgres, create=True, tag=tag) if postgres else {}
    running = Stack(
        var_dir,
        ports={name: free_port() for name in DEFAULT_PORTS},
        redis_port=free_port(),
        agent_port=free_port(),  # several stacks may run on one machine at once
        database_urls=database_urls,
        extra_env={
            "HALL_RELAY_INTERVAL": "0.5",
            # Every test logs in from 127.0.0.1, and the lockout test needs 20 challenges for one account.
            "HALL_CHALLENGE_LIMIT_PER_ADDRESS": "600 per minute",
            "HALL_CHALLENGE_LIMIT_PER_ACCOUNT": "30 per minute",
            # An import of a few hundred rows already goes to the heavy worker, so the tests see that path.
            "HALL_IMPORT_INLINE_BYTES": "32768",
            # The hundreds of center logins of the suite are password logins; the console's second factor
            # runs on a stack of its own (tests/browser/test_center_second_factor.py).
            "HALL_CENTER_SECOND_FACTOR": "false",
            **EVENT_ENV,
            **(extra_env or {}),
        },
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
        if postgres:
            _postgres_databases(postgres, create=False, tag=tag)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("hall")) as running:
        yield running


# -- the reliability report (tests/reliability.py) ---------------------------------------------------

_REPORTED: list[reliability.Entry] = []


@pytest.fixture
def reliability_report(request: pytest.FixtureRequest) -> Iterator[reliability.Recorder]:
    """Figures for docs/reliability.md: a test states what it measured (see tests/reliability.py)."""
    node = request.node
    test = f"{Path(str(node.path)).relative_to(reliability.ROOT)}::{node.name}"
    # A unit test on the any_db fixture runs on both databases whatever the environment says.
    chosen = getattr(getattr(node, "callspec", None), "params", {}).get("any_db")
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(chosen, reliability.database())
    entry = reliability.Entry(test=test, summary=reliability.summary_of(node.function), database=database)
    _REPORTED.append(entry)
    node.stash[_ENTRY] = entry
    yield reliability.Recorder(entry)


_ENTRY = pytest.StashKey[reliability.Entry]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    entry = item.stash.get(_ENTRY, None)
    if entry is not None and (report.when == "call" or report.failed):  # type: ignore[attr-defined]
        entry.outcome = "passed" if report.passed else "FAILED"  # type: ignore[attr-defined]
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _REPORTED:
        reliability.merge(_REPORTED)
