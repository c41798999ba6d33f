"""What the event tests need besides the API helpers: a step run inside a service, a look at a
service's tables, the admin console as a browser without scripts would use it, and a held database."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from deploy import demo_data as demo
from deploy.stack import BIN, ROOT, Stack


def shell(stack: Stack, service: str, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "-m", "tests.integration.service_shell", service, *args],
        cwd=ROOT, env=stack.env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def rows(stack: Stack, service: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(stack.database_url(service))
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))
    finally:
        engine.dispose()


class Console:
    """The center's admin console through the gateway: a cookie session and the page's CSRF token."""

    def __init__(self, stack: Stack) -> None:
        self.client = httpx.Client(base_url=stack.url("gateway"), timeout=30, follow_redirects=True)
        page = self.client.get("/admin/login")
        done = self.client.post("/admin/login", data={
            "csrf_token": self._token(page.text), "login_name": demo.CENTER_LOGIN, "password": demo.CENTER_PASSWORD,
        })
        assert done.status_code == 200 and "退出系统" in done.text, done.text

    @staticmethod
    def _token(html: str) -> str:
        match = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert match, html
        return match.group(1)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def submit(self, page: httpx.Response, action: str) -> httpx.Response:
        """Post one of the page's forms (its action URL) as the button would."""
        return self.client.post(action, data={"csrf_token": self._token(page.text)})

    def close(self) -> None:
        self.client.close()


@contextmanager
def held_processed_events(stack: Stack, service: str) -> Iterator[None]:
    """Hold a write lock a consumer of the service needs to finish an event, so its worker is caught
    in the middle of that event (SQLite: the database's write lock; PostgreSQL: a table lock)."""
    url = stack.database_url(service)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    connection = engine.connect()
    try:
        if url.startswith("sqlite"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
            connection.exec_driver_sql("LOCK TABLE processed_events IN EXCLUSIVE MODE")
        yield
    finally:
        connection.exec_driver_sql("ROLLBACK")
        connection.close()
        engine.dispose()
