"""The money's invariants over random sequences of what moves it, through the payment service's own code:
bank receipts (stored, to the unallocated amount, paying due bills), monthly bills, 补缴 applied on
approval (paid from the unallocated amount, or refused on a shortfall) and yearly settlements. After
every step: each employer's balance == the sum of its members' balances == the sum of its journal; its
unallocated amount == the sum of its movements, never below zero; a bill is paid at most once; a
receipt posted twice is stored and booked once. (Seals and unseals move no money: a sealed member's
balance stays and keeps earning, which the settlements here cover.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from hall_common import db
from services.payment import bills, interest, receipts, supplement
from services.payment.interest_models import InterestRun
from services.payment.models import (
    BillLine,
    EmployerAccount,
    JournalEntry,
    JournalLine,
    MemberAccount,
    Receipt,
    RemittanceBill,
    UnallocatedMovement,
)
from services.payment.supplement_models import SupplementMonth

from .. import money as money_checks
from .interest_support import RATES, assert_invariant, payment_app

EMPLOYERS = ("400400001", "400400002")
MEMBERS = {employer: [f"{employer}{m:04d}" for m in range(1, 4)] for employer in EMPLOYERS}
START = date(2024, 7, 1)
money = st.decimals(Decimal("0.01"), Decimal("30000.00"), places=2)
step = st.one_of(
    st.tuples(st.just("receipt"), st.sampled_from(EMPLOYERS), money, st.booleans()),
    st.tuples(st.just("bill"), st.sampled_from(EMPLOYERS), st.lists(money, min_size=1, max_size=3)),
    st.tuples(st.just("supplement"), st.sampled_from(EMPLOYERS), st.lists(money, min_size=1, max_size=3)),
    st.tuples(st.just("settle"), st.sampled_from((2025, 2026))),
)


@pytest.fixture
def app() -> Iterator[Flask]:
    made = payment_app()
    with made.app_context():
        yield made


def _clear() -> None:
    session = db.session()
    for model in (SupplementMonth, BillLine, RemittanceBill, Receipt, UnallocatedMovement, JournalLine,
                  JournalEntry, MemberAccount, EmployerAccount, InterestRun):
        session.execute(delete(model))
    for employer in EMPLOYERS:
        session.add(EmployerAccount(employer_no=employer, balance=Decimal("0.00"), unallocated=Decimal("0.00")))
    session.commit()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_every_sequence_keeps_balances_journal_and_unallocated_in_step(app: Flask, steps: list[tuple]) -> None:
    _clear()
    session = db.session()
    day, business = START, 0
    for n, (kind, *args) in enumerate(steps):
        day += timedelta(days=23)
        if kind == "receipt":
            employer, amount, again = args
            body = {"bank_reference": f"R{n}", "employer_no": employer, "amount": amount, "received_on": day,
                    "memo": ""}
            receipts.store(session, "bank", body, day)
            session.commit()
            if again:  # the bank retries: nothing stored or booked again
                stored, paid = receipts.store(session, "bank", body, day)
                assert stored is None and paid == []
                session.rollback()
        elif kind == "bill":
            employer, amounts = args
            lines = list(zip(MEMBERS[employer], amounts, strict=False))
            bills.make_bill(session, employer, bills.first_of_month(day), lines)
            bills.pay_due(session, employer, day)
            session.commit()
        elif kind == "supplement":
            employer, amounts = args
            business += 1
            before = session.get_one(EmployerAccount, employer).unallocated
            batch = SimpleNamespace(id=business, employer_no=employer, employer_name="测试单位", row_count=len(amounts),
                                    operator="王晓燕", approver="李明", opinion="同意",
                                    decided_at=datetime.combine(day, datetime.min.time()))
            rows = [SimpleNamespace(data={"member_no": member, "month": f"{day:%Y%m}", "amount": str(amount),
                                          "reason": "漏缴补缴", "name": ""}, result="")
                    for member, amount in zip(MEMBERS[employer], amounts, strict=False)]
            supplement.apply(batch, rows)
            session.commit()
            need = sum((Decimal(r.data["amount"]) for r in rows), Decimal("0.00"))
            after = session.get_one(EmployerAccount, employer).unallocated
            # Paid from the unallocated amount when it covered the total, else nothing moved.
            assert after == (before - need if need <= before else before)
        else:
            (year,) = args
            if day > date(year, 6, 30):
                interest.settle(session, year, RATES, 360, "tester", day)
        session.expire_all()
        assert_invariant()
        assert money_checks.problems(session) == []  # unallocated == its movements >= 0, no entry twice, bills
