"""补缴 under concurrency, on SQLite and PostgreSQL: approvals racing for one unallocated amount never
overspend it, one roster committed by ten clicks is one business, one approval delivered ten times books
once, one member's month typed by ten operators is one row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hall_common.consumer import consume
from hall_common.events import make_event

from ..threads import at_once
from .conftest import EMPLOYER_NO, AnyDb, auth, token_for
from .supplement_support import (
    NORMAL,
    TYPE,
    account,
    add,
    business_ids,
    commit,
    decide,
    entry,
    events,
    fund,
    journal,
    members_total,
    months_back,
    rows,
    with_members,
)


def test_ten_approvals_at_once_never_overspend_the_unallocated_amount(
    any_db: AnyDb, employer_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_members(monkeypatch)
    app = any_db.app("payment")
    fund(app, "100.00")
    for member in NORMAL[:10]:  # ten businesses of 30.00 each: each covered alone at 提交
        assert add(app, employer_headers, entry(member["member_no"], "202501", "30.00")).status_code == 201
        assert commit(app, employer_headers).status_code == 201
    ids = business_ids(app)
    assert len(ids) == 10
    before_balance, _ = account(app)
    results: list[Any] = at_once([lambda b=b: decide(app, b) for b in ids])
    assert results == ["processed"] * 10, results
    balance, unallocated = account(app)
    assert unallocated == Decimal("10.00")  # three paid, never below zero
    assert len(journal(app)) == 3 and len(events(app, "payment.supplemented")) == 3
    failed = events(app, "payment.supplement_failed")
    assert len(failed) == 7
    assert {f["reason"] for f in failed} == {"未分配金额不足：需30.00元，现有10.00元，差额20.00元"}
    assert balance == before_balance + Decimal("90.00") == members_total(app)


def test_ten_clicks_on_submit_make_one_business(any_db: AnyDb, employer_headers: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with_members(monkeypatch)
    app = any_db.app("payment")
    fund(app, "1000.00")
    for member, month in zip(NORMAL[:5], months_back(5), strict=True):
        add(app, employer_headers, entry(member["member_no"], month, "100.00"))
    answers = at_once([lambda: commit(app, employer_headers)] * 10)
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 1, [a.get_json() for a in answers]
    assert all(code in (409, 422) for code in codes if code != 201)
    assert len(business_ids(app)) == 1 and rows(app, employer_headers)["total"] == 0


def test_one_approval_delivered_ten_times_at_once_books_once(
    any_db: AnyDb, employer_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_members(monkeypatch)
    app = any_db.app("payment")
    fund(app, "1000.00")
    add(app, employer_headers, entry(NORMAL[0]["member_no"], "202501", "250.00"))
    add(app, employer_headers, entry(NORMAL[1]["member_no"], "202501", "250.00"))
    commit(app, employer_headers)
    [business_id] = business_ids(app)

    def deliver() -> str:
        # Each delivery its own event (as a replayed outcome would be): the business's state decides.
        event = make_event("workflow", "business.approved", {
            "business_type": TYPE, "business_id": business_id, "owner": "payment", "employer_no": EMPLOYER_NO,
            "instance_id": 7, "approver": "中心审核员李明", "opinion": "同意"})
        with app.app_context():
            return str(consume(event))

    assert at_once([deliver] * 10) == ["processed"] * 10
    assert account(app)[1] == Decimal("500.00")
    [(booked, lines)] = journal(app)
    assert booked.amount == Decimal("500.00") and len(lines) == 2
    assert len(events(app, "payment.supplemented")) == 1


def test_one_member_month_typed_by_ten_operators_at_once_is_one_row(
    any_db: AnyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_members(monkeypatch)
    app = any_db.app("payment")
    operators = [auth(token_for(login_name=f"100100001-op{i}")) for i in range(10)]
    answers = at_once([lambda h=h: add(app, h, entry(NORMAL[0]["member_no"], "202501", "100.00"))
                       for h in operators])
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and all(c in (409, 422) for c in codes if c != 201), codes
    assert rows(app, operators[0])["total"] == 1
