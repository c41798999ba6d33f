"""The chaos run's businesses (tests/integration/test_chaos.py): one employer of its own per thread, run
one business after another through the real APIs with the helpers the other integration tests use, each
followed to its end (the outcome's message stored), while faults are injected around them.

A call the stack cannot take for a moment (a connection refused while a service restarts, 502-504 while
Redis is away) is tried again, as the gateway's user would click again; a 500 or any other refusal is
not, so a real error fails the business instead of being retried away."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

import httpx
import sqlalchemy as sa

from deploy.stack import Stack
from services.payment.bills import hall_today

from .helpers import (
    Api,
    add_clean_employer,
    bank_token,
    decide,
    employer_api,
    member_change,
    person,
    roster_business,
    submit_change,
)

T = TypeVar("T")
RETRIED = (502, 503, 504)
PATIENCE = 240  # seconds a business may take end to end: a fault's recovery sits inside it
FIRST_MONTH = "202401"  # registered members owe from here on: a 补缴 picks any month since


def patient(check: Callable[[], T | None], what: str, timeout: float = PATIENCE) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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


class Driver:
    """One thread's employer and its businesses, chosen at random among those its state allows."""

    def __init__(self, stack: Stack, dbs: Databases, employer: RobustApi, center: RobustApi, employer_no: str,
                 seed: int, counter: Counter) -> None:
        self.stack, self.dbs, self.employer, self.center = stack, dbs, employer, center
        self.employer_no, self.counter = employer_no, counter
        self.random = random.Random(seed)
        self.members: list[Member] = []
        self.unallocated = Decimal("0.00")
        self.balance = Decimal("0.00")
        self.receipts = Decimal("0.00")
        self.profile: dict[str, str] = {}  # employer fields as the last approved change left them
        self.done: list[Business] = []

    # -- the run ----------------------------------------------------------------------------------

    def run(self, count: int) -> None:
        try:
            for index in range(count):
                action = self.choose(index)
                self.counter.add()
                action()
        finally:
            self.counter.leave()

    def choose(self, index: int) -> Callable[[], None]:
        if index == 0 or not self.members:
            return self.register
        if index == 1 or self.unallocated < Decimal("10.00"):
            return self.receipt
        normal = [m for m in self.members if m.status == "01"]
        choices: list[Callable[[], None]] = [self.employer_change, self.employer_change, self.register,
                                             self.receipt]
        if normal:
            choices += [self.member_change, self.base_adjustment, self.seal, self.supplement, self.supplement]
        if any(m.status == "02" for m in self.members):
            choices.append(self.unseal)
        return self.random.choice(choices)

    def follow(self, business: Business, act: Callable[[], None]) -> None:
        """Record the business, run it to its end; an error is kept on it (the checks report it)."""
        self.done.append(business)
        try:
            act()
        except Exception as exc:  # the business is lost: say why, the checks fail on it
            business.error = f"{type(exc).__name__}: {exc}"[:500]

    def finish(self, business: Business) -> None:
        """Decide every open task of the business as planned until its outcome's message is stored."""
        def ended() -> bool:
            if self.dbs.messages(business.type, business.business_id) >= business.messages:
                return True
            for row in self.center.get("workflow", "/tasks", status="open", business_type=business.type,
                                       per_page=100)["items"]:
                if row["instance"]["business_id"] == business.business_id:
                    opinion = "同意" if business.decision == "approve" else "不予办理"
                    decide(self.center, row, business.decision, opinion)
            return False

        patient(ended, f"{business.type} {business.business_id} to end")

    # -- the businesses -----------------------------------------------------------------------------

    def register(self) -> None:
        id_number = new_id_number()
        business = Business("member_registration", "", self.employer_no, "approve")

        def act() -> None:
            business.business_id = roster_business(self.employer, "member", "member_registration", {
                "name": "混沌" + "甲乙丙丁戊己庚辛壬癸"[len(self.members) % 10], "id_number": id_number,
                "base": "4000", "first_month": FIRST_MONTH, "ratio": "12"}, self.employer_no)
            self.finish(business)
            hits = self.employer.get("member", f"/employers/{self.employer_no}/members/search", q=id_number)
            self.members.append(Member(hits[0]["member_no"], id_number))

        self.follow(business, act)

    def receipt(self) -> None:
        amount = Decimal(self.random.randint(200, 2000)).quantize(Decimal("0.01"))
        reference = f"CHAOS-{self.employer_no}-{len(self.done)}"
        business = Business("receipt", reference, self.employer_no, "booked")

        def act() -> None:
            bank = RobustApi(self.stack, bank_token(self.stack))
            posted = bank.call("POST", "payment", "/receipts", json={
                "bank_reference": reference, "employer_no": self.employer_no, "amount": f"{amount}",
                "received_on": hall_today().isoformat(), "memo": "汇缴款"})
            assert posted.status_code == 201, posted.text
            self.unallocated += amount
            self.receipts += amount

        self.follow(business, act)

    def employer_change(self) -> None:
        decision = self.random.choice(("approve", "reject", "return-resubmit", "return-end"))
        changes = {"phone": f"0351-{self.random.randint(1000000, 9999999)}"} if self.random.random() < 0.5 \
            else {"address": f"山西省太原市小店区混沌路{self.random.randint(1, 999)}号"}
        business = Business("employer_change", "", self.employer_no,
                            {"return-resubmit": "approve", "return-end": "end"}.get(decision, decision))

        def act() -> None:
            submitted = submit_change(self.employer, changes, self.employer_no)
            assert submitted.status_code == 201, submitted.text
            business.business_id = str(submitted.json()["request"]["id"])
            final = dict(changes)
            if decision.startswith("return"):
                row = self._task(business)
                decide(self.center, row, "return", "请核对后重新提交")
                business.returns = 1
                patient(lambda: self.dbs.messages(business.type, business.business_id) >= 1, "the return's message")
                # The owner applies the return from its own event, which may trail notify's message: an
                # operator correcting before it sees the page refuse (不能重新提交) and waits as this does.
                patient(lambda: self._returned(business.business_id), "the change request returned at its owner")
                if decision == "return-end":
                    ended = self.employer.call("POST", "workflow", f"/instances/{row['instance']['id']}/end",
                                               json={"reason": "暂不变更"})
                    assert ended.status_code == 200, ended.text
                else:
                    final = {k: v[:-1] + "8" if k == "phone" else v + "（更正）" for k, v in changes.items()}
                    resubmitted = self.employer.call(
                        "PUT", "employer", f"/employers/{self.employer_no}/change-requests/{business.business_id}",
                        json={"changes": [{"field": k, "value": v} for k, v in final.items()]})
                    assert resubmitted.status_code == 200, resubmitted.text
            self.finish(business)
            if business.decision == "approve":
                self.profile.update(final)

        self.follow(business, act)

    def _returned(self, request_id: str) -> bool:
        request = self.employer.get("employer", f"/employers/{self.employer_no}/change-requests/current")["request"]
        return bool(request) and str(request["id"]) == request_id and request["status"] == "returned"

    def _task(self, business: Business) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for row in self.center.get("workflow", "/tasks", status="open", business_type=business.type,
                                       per_page=100)["items"]:
                if row["instance"]["business_id"] == business.business_id:
                    return cast(dict[str, Any], row)
            return None

        return patient(find, f"the task of {business.type} {business.business_id}")

    def member_change(self) -> None:
        member = self.random.choice([m for m in self.members if m.status == "01"])
        postcode = f"03{self.random.randint(0, 9999):04d}"
        business = Business("member_change", "", self.employer_no, self.random.choice(("approve", "reject")))

        def act() -> None:
            business.business_id = member_change(self.employer, member.member_no, {"postcode": postcode},
                                                 self.employer_no)
            self.finish(business)
            if business.decision == "approve":
                member.postcode = postcode

        self.follow(business, act)

    def base_adjustment(self) -> None:
        member = self.random.choice([m for m in self.members if m.status == "01"])
        base = self.random.choice([b for b in (Decimal(h * 100).quantize(Decimal("0.01")) for h in range(40, 61))
                                   if b != member.base])  # the same base again is refused (无需调整)
        business = Business("base_adjustment", "", self.employer_no, self.random.choice(("approve", "reject")))

        def act() -> None:
            business.business_id = roster_business(self.employer, "member", "base_adjustment", {
                "member_no": member.member_no, "category": "base", "base": f"{base}",
                "effective_month": date.today().strftime("%Y%m")}, self.employer_no)
            self.finish(business)
            if business.decision == "approve":
                member.base = base

        self.follow(business, act)

    def seal(self) -> None:
        member = self.random.choice([m for m in self.members if m.status == "01"])
        self._status(member, "member_seal", {"reason": "离职"}, "02")

    def unseal(self) -> None:
        member = self.random.choice([m for m in self.members if m.status == "02"])
        self._status(member, "member_unseal", {"reason": "正常启封"}, "01")

    def _status(self, member: Member, type_: str, values: dict[str, str], status: str) -> None:
        business = Business(type_, "", self.employer_no, "approve")

        def act() -> None:
            business.business_id = roster_business(self.employer, "member", type_,
                                                   {"member_no": member.member_no, **values}, self.employer_no)
            self.finish(business)
            member.status = status

        self.follow(business, act)

    def supplement(self) -> None:
        payable = [m for m in self.members if m.status == "01"]
        member = self.random.choice(payable)
        months = [f"{y}{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
        month = self.random.choice([m for m in months if m not in member.months])
        amount = min(self.unallocated, Decimal(self.random.randint(1, 500))).quantize(Decimal("0.01"))
        business = Business("supplementary_payment", "", self.employer_no, self.random.choice(("approve", "reject")))

        def act() -> None:
            business.business_id = roster_business(self.employer, "payment", "supplementary_payment", {
                "member_no": member.member_no, "reason": "漏缴补缴", "month": month, "amount": f"{amount}"},
                self.employer_no)
            self.finish(business)
            if business.decision == "approve":
                member.months.add(month)
                self.unallocated -= amount
                self.balance += amount

        self.follow(business, act)
