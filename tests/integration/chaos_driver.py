"""The chaos run's businesses (tests/integration/test_chaos.py): one employer of its own per thread, run
one business after another through the real APIs with the helpers the other integration tests use, each
followed to its end (the outcome's message stored), while faults are injected around them. A business
whose process has a center task may be returned, then resubmitted or ended (结束流程) as planned."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, cast

from deploy.stack import Stack
from services.payment.bills import hall_today

from .chaos_support import (
    FIRST_MONTH,
    Business,
    Counter,
    Databases,
    Member,
    RobustApi,
    new_id_number,
    patient,
)
from .helpers import bank_token, decide, member_change, roster_business, submit_change

# The plans of a business whose process has a center task, and the final state each must reach.
PLANS = ("approve", "reject", "return-resubmit", "return-end")
FINAL = {"approve": "approve", "reject": "reject", "return-resubmit": "approve", "return-end": "end"}


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
        # Each change's values are new (a value equal to the current one is refused: 变更后的内容与原内容相同).
        self.serial = itertools.count(1)
        self.planned: dict[str, int] = {}  # businesses planned so far, by type

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

    def plan(self, business_type: str) -> tuple[str, Business]:
        """A business's plan (approved, rejected, returned then resubmitted and approved, returned then
        ended by 结束流程) and the business with the final state the checks want of it."""
        # A driver's first two businesses of a type are returned (one resubmitted, one ended), so that even a
        # short run returns every type that has a center task whatever the draws; the rest are drawn.
        count = self.planned[business_type] = self.planned.get(business_type, 0) + 1
        plan = PLANS[1 + count] if count <= 2 else self.random.choice(PLANS)
        return plan, Business(business_type, "", self.employer_no, FINAL[plan])

    def returned(self, business: Business, plan: str, at_owner: Callable[[], bool],
                 resubmit: Callable[[], None]) -> None:
        """A planned return: the center returns the business at its first task; once its owner shows it
        returned, the employer resubmits it (``resubmit``) or ends it (结束流程)."""
        if not plan.startswith("return"):
            return
        row = self._task(business)
        decide(self.center, row, "return", "请核对后重新提交")
        business.returns = 1
        patient(lambda: self.dbs.messages(business.type, business.business_id) >= 1, "the return's message")
        # The owner applies the return from its own event, which may trail notify's message: an operator
        # correcting before it shows the business returned is refused (不能重新提交) and waits as this does.
        patient(at_owner, f"{business.type} {business.business_id} returned at its owner")
        if plan == "return-end":
            ended = self.employer.call("POST", "workflow", f"/instances/{row['instance']['id']}/end",
                                       json={"reason": "暂不办理"})
            assert ended.status_code == 200, ended.text
        else:
            resubmit()

    def roster_returned(self, service: str, business: Business) -> bool:
        """The generic process page's view of a returned roster business: its rows, correctable."""
        rows = self.employer.get(service, f"/employers/{self.employer_no}/rosters/{business.type}/businesses/"
                                          f"{business.business_id}/rows")
        return bool(rows["correctable"])

    def resubmit_roster(self, service: str, business: Business) -> None:
        """重新提交 on the generic process page: the returned roster business as it stands."""
        sent = self.employer.call("POST", service, f"/businesses/{business.type}/{business.business_id}/resubmit")
        assert sent.status_code == 200, sent.text

    def employer_change(self) -> None:
        serial = next(self.serial)  # the correction's phone ends in 8: no submitted phone does
        changes = {"phone": f"0351-{1000000 + serial * 10 + self.random.randint(0, 7)}"} \
            if self.random.random() < 0.5 else {"address": f"山西省太原市小店区混沌路{serial}号"}
        plan, business = self.plan("employer_change")
        final = dict(changes)

        def resubmit() -> None:
            final.update({k: v[:-1] + "8" if k == "phone" else v + "（更正）" for k, v in changes.items()})
            resubmitted = self.employer.call(
                "PUT", "employer", f"/employers/{self.employer_no}/change-requests/{business.business_id}",
                json={"changes": [{"field": k, "value": v} for k, v in final.items()]})
            assert resubmitted.status_code == 200, resubmitted.text

        def act() -> None:
            submitted = submit_change(self.employer, changes, self.employer_no)
            assert submitted.status_code == 201, submitted.text
            business.business_id = str(submitted.json()["request"]["id"])
            self.returned(business, plan, lambda: self._returned(business.business_id), resubmit)
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
        postcode = f"03{next(self.serial):04d}"  # new to the member: no earlier change gave it
        plan, business = self.plan("member_change")
        final = {"postcode": postcode}

        def at_owner() -> bool:
            listed = self.employer.get("member", f"/employers/{self.employer_no}/member-changes",
                                       status="returned", per_page=100)["items"]
            return any(str(item["request"]["id"]) == business.business_id for item in listed)

        def resubmit() -> None:
            # Corrected on the change page (it has one): another postcode, resubmitted into the process.
            final["postcode"] = f"04{next(self.serial):04d}"  # new too: unchanged, the page would refuse it
            sent = self.employer.call("PUT", "member",
                                      f"/employers/{self.employer_no}/member-changes/{business.business_id}",
                                      json={"changes": [{"field": "postcode", "value": final["postcode"]}]})
            assert sent.status_code == 200, sent.text

        def act() -> None:
            business.business_id = member_change(self.employer, member.member_no, {"postcode": postcode},
                                                 self.employer_no)
            self.returned(business, plan, at_owner, resubmit)
            self.finish(business)
            if business.decision == "approve":
                member.postcode = final["postcode"]

        self.follow(business, act)

    def base_adjustment(self) -> None:
        member = self.random.choice([m for m in self.members if m.status == "01"])
        base = self.random.choice([b for b in (Decimal(h * 100).quantize(Decimal("0.01")) for h in range(40, 61))
                                   if b != member.base])  # the same base again is refused (无需调整)
        plan, business = self.plan("base_adjustment")

        def act() -> None:
            business.business_id = roster_business(self.employer, "member", "base_adjustment", {
                "member_no": member.member_no, "category": "base", "base": f"{base}",
                "effective_month": date.today().strftime("%Y%m")}, self.employer_no)
            self.returned(business, plan, lambda: self.roster_returned("member", business),
                          lambda: self.resubmit_roster("member", business))
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
        plan, business = self.plan("supplementary_payment")

        def act() -> None:
            business.business_id = roster_business(self.employer, "payment", "supplementary_payment", {
                "member_no": member.member_no, "reason": "漏缴补缴", "month": month, "amount": f"{amount}"},
                self.employer_no)
            self.returned(business, plan, lambda: self.roster_returned("payment", business),
                          lambda: self.resubmit_roster("payment", business))
            self.finish(business)
            if business.decision == "approve":
                member.months.add(month)
                self.unallocated -= amount
                self.balance += amount

        self.follow(business, act)
