"""Database engine and request-scoped session, one per service application."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import sqlalchemy
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

EXTENSION_KEY = "hall.db"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Database:
    def __init__(self, url: str, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = url
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            # The web threads and the Celery worker write the same file: wait for locks, don't fail.
            # A file cannot drop a connection, so no ping: it was one more statement on every request
            # and every event (make bench).
            options = {"pool_pre_ping": False, "connect_args": {"check_same_thread": False, "timeout": 30}}
        # Looked up at each call: with tracing on, hall_common.tracing has wrapped it to trace the engine.
        self.engine: Engine = sqlalchemy.create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", partial(_sqlite_pragmas, synchronous=sqlite_synchronous))
        self.session = scoped_session(sessionmaker(self.engine, expire_on_commit=False))

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self
        app.teardown_appcontext(lambda exc: self.session.remove())

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "NORMAL") -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # Settings.sqlite_synchronous: NORMAL under WAL writes the log without waiting for the disk at each
    # commit (the worker made two such waits per event, make bench); durable across process crashes.
    cursor.execute("PRAGMA synchronous=" + ("FULL" if synchronous == "FULL" else "NORMAL"))
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_db(app: Flask | None = None) -> Database:
    db: Database = (app or current_app).extensions[EXTENSION_KEY]
    return db


def session() -> Session:
    """The session of the current application context (request or Celery task)."""
    return get_db().session()


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit on success, roll back on any error: nothing is stored half-way."""
    s = session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise


class Base(DeclarativeBase):
    """Not used directly: each service declares its own base so its metadata holds only its tables."""
