"""Stand-ins for the broker, Redis and a bound Celery task, and the dead letters a service's database
holds: for the tests of the relay, the retry policy and event batches."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from celery.exceptions import Reject
from flask import Flask
from sqlalchemy import select

from hall_common import db
from hall_common.celery_app import get_celery
from hall_common.runtime import get_runtime


class Sent:
    """Stands in for the broker: what the relay or a retry would have put on Redis."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []
        self.headers: list[dict[str, Any] | None] = []  # each message's own headers, as sent
        self.fail = fail
        self.lock = threading.Lock()
        monkeypatch.setattr(get_celery(), "send_task", self.send_task)

    def send_task(self, name: str, args: list[Any], queue: str, headers: dict[str, Any] | None = None,
                  **_: Any) -> None:
        if self.fail:
            raise ConnectionError("Redis is down")
        with self.lock:
            self.messages.append((name, args[0], queue))
            self.headers.append(headers)


class FakeTask:
    """The bits of a bound Celery task that the retry policy reads."""

    def __init__(self, retries: int, publish_fails: bool = False) -> None:
        self.request = type("Request", (), {"retries": retries})()
        self.publish_fails = publish_fails
        self.retried: list[dict[str, Any]] = []

    def retry(self, **options: Any) -> Exception:
        if self.publish_fails:
            raise Reject(ConnectionError("Redis is down"), requeue=False)
        self.retried.append(options)
        return RuntimeError("retry scheduled")


class FakeRedis:
    def __init__(self) -> None:
        self.store: dict[str, object] = {}

    def set(self, key: str, value: object, ex: int) -> None:
        self.store[key] = value

    def mget(self, keys: list[str]) -> list[object | None]:
        return [self.store.get(k) for k in keys]


def dead_letters_of(app: Flask) -> list[Any]:
    with app.app_context():
        model = get_runtime().plumbing.dead_letter
        return list(db.session().scalars(select(model).order_by(model.id)))
