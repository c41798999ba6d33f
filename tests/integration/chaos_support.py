"""The chaos run's parts (tests/integration/test_chaos.py): the patient API and waits, the databases read
to check the businesses, the businesses as planned, the run's employers (the businesses themselves are
run by chaos_driver.py).

A call the stack cannot take for a moment (a connection refused while a service restarts, 502-504 while
Redis is away) is tried again, as the gateway's user would click again; a 500 or any other refusal is
not, so a real error fails the business instead of being retried away."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from deploy.stack import Stack

from .helpers import Api, add_clean_employer, employer_api, person, wait_for

T = TypeVar("T")
RETRIED = (502, 503, 504)
PATIENCE = 240  # seconds a business may take end to end: a fault's recovery sits inside it
FIRST_MONTH = "202401"  # registered members owe from here on: a 补缴 picks any month since


def patient(check: Callable[[], T | None], what: str, timeout: float = PATIENCE) -> T:
    """wait_for with the run's patience (a fault's recovery sits inside it), polled less often: four
    threads poll at once."""
    return wait_for(check, timeout, what, every=0.3)


class RobustApi(Api):
    """An Api that tries again while the stack recovers from a fault (see the module's docstring)."""

    retries = 0
    _lock = threading.Lock()

    @classmethod
    def of(cls, api: Api) -> RobustApi:
        return cls(api.stack, api.token, api.refresh_token, api.expires_at, api.auth_url)

    def _again(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                response = send()
                if response.status_code not in RETRIED or time.monotonic() > deadline:
                    return response
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            with RobustApi._lock:
                RobustApi.retries += 1
            time.sleep(0.5)

    def refresh(self) -> httpx.Response:
        return self._again(super().refresh)

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._again(lambda: super(RobustApi, self).call(method, service, path, **dict(kwargs)))


class Databases:
    """The services' own databases, read (never written) to follow and check the businesses."""

    def __init__(self, stack: Stack) -> None:
        self.engines = {name: sa.create_engine(stack.database_url(name)) for name in
                        ("auth", "employer", "member", "notify", "payment", "workflow")}

    def rows(self, service: str, sql: str, **params: Any) -> list[Any]:
        with self.engines[service].connect() as connection:
            return list(connection.execute(sa.text(sql), params))

    def scalar(self, service: str, sql: str, **params: Any) -> Any:
        return self.rows(service, sql, **params)[0][0]

    def messages(self, business_type: str, business_id: str) -> int:
        return int(self.scalar("notify", "SELECT count(*) FROM inbox_items WHERE box = 'message' AND "
                                         "business_type = :t AND business_id = :b", t=business_type, b=business_id))

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


@dataclass
class Business:
    """One business as the driver ran it, and what its end must look like."""

    type: str
    business_id: str
    employer_no: str
    decision: str  # approve | reject | end (结束流程) | booked (a bank's receipt: no process)
    returns: int = 0
    error: str = ""

    @property
    def messages(self) -> int:
        """A message per return, one for the outcome; a receipt has no process and no message."""
        return 0 if self.type == "receipt" else self.returns + 1


@dataclass
class Member:
    member_no: str
    id_number: str
    status: str = "01"
    base: Decimal = Decimal("4000.00")
    postcode: str = ""
    months: set[str] = field(default_factory=set)  # months a 补缴 was booked for


class Counter:
    """Businesses started, over every thread: the fault injector waits on it (or on every thread's end)."""

    def __init__(self, threads: int) -> None:
        self.value = 0
        self.running = threads
        self.changed = threading.Condition()

    def add(self) -> None:
        with self.changed:
            self.value += 1
            self.changed.notify_all()

    def leave(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def reach(self, target: int) -> bool:
        with self.changed:
            while self.value < target and self.running:
                self.changed.wait(1)
            return self.value >= target


_ids = iter(range(3000, 10**6))  # person(): a valid ID number of its own each
_ids_lock = threading.Lock()


def new_id_number() -> str:
    with _ids_lock:
        return person(next(_ids))


def open_employer(stack: Stack, dbs: Databases, employer_no: str, index: int) -> RobustApi:
    """An employer of the run's own (no members, no money), with an account at the payment service."""
    add_clean_employer(stack, employer_no, f"太原市混沌演练{index}号商贸有限公司", f"91140100MA0K{80000 + index:05d}X")
    with dbs.engines["payment"].begin() as connection:
        if not connection.execute(sa.text("SELECT 1 FROM employer_accounts WHERE employer_no = :e"),
                                  {"e": employer_no}).first():
            connection.execute(sa.text("INSERT INTO employer_accounts (employer_no, balance, unallocated) "
                                       "VALUES (:e, 0, 0)"), {"e": employer_no})
    return RobustApi.of(employer_api(stack, employer_no, employer_no))
