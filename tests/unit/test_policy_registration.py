"""缴存人登记 against the policy (政策参数) of the first month: base, ratios and monthly amount at and
beyond each bound on either side of an effective date, checked again at 确认开户, and the monthly
amount's parts stored with the member and its first contribution terms as the policy rounded them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from hall_common import db
from services.member.models import Contribution, Member, PolicyVersion
from services.member.policy import from_row

from .conftest import make_app
from .member_support import (
    account_of,
    add,
    business_ids,
    commit,
    decide,
    members_by_id,
    registration,
    resident_id,
    rows,
)

TYPE = "member_registration"
D = Decimal


def put_policy(app: Flask, effective_from: date, **changes: Any) -> None:
    values: dict[str, Any] = {
        "effective_from": effective_from, "base_min": D("1880.00"), "base_max": D("26952.00"),
        "amount_min": D("188.00"), "amount_max": D("6468.48"), "employer_ratio_min": D("0.0500"),
        "employer_ratio_max": D("0.1200"), "personal_ratio_min": D("0.0500"), "personal_ratio_max": D("0.1200"),
        "amount_places": "0.01", "rounding": "ROUND_HALF_UP", "current_rate": D("0.015000"),
        "carried_rate": D("0.015000"), **changes}
    with app.app_context():
        db.session().add(PolicyVersion(**values))
        db.session().commit()


@pytest.fixture
def app() -> Flask:
    """From 2027-01 the 2025-like bounds; from 2027-07 higher bases, narrower ratios (6%-11%) and a
    monthly amount of 250.00-6000.00, so each bound can be met on its own."""
    made = make_app("member")
    put_policy(made, date(2027, 1, 1))
    put_policy(made, date(2027, 7, 1), base_min=D("1980.00"), base_max=D("28512.00"), amount_min=D("250.00"),
               amount_max=D("6000.00"), employer_ratio_min=D("0.0600"), employer_ratio_max=D("0.1100"),
               personal_ratio_min=D("0.0600"), personal_ratio_max=D("0.1100"))
    return made


@pytest.mark.parametrize(("month", "base", "ratio", "field", "reason"), [
    ("202706", "1880.00", "5", None, None),  # the lowest base at the lowest ratios: 94.00 + 94.00 = 188.00
    ("202706", "1879.99", "5", "base", "的缴存基数1879.99元低于下限1880.00元"),
    ("202706", "26952.00", "12", None, None),  # the highest: 3234.24 + 3234.24 = 6468.48
    ("202706", "26952.01", "12", "base", "的缴存基数26952.01元高于上限26952.00元"),
    ("202707", "26952.01", "11", None, None),  # the same base is accepted from the new version's month
    ("202707", "1880.00", "6", "base", "的缴存基数1880.00元低于下限1980.00元"),  # and the old lowest refused
    ("202707", "1980.00", "11", None, None),
    ("202707", "28512.00", "6", None, None),
    ("202707", "28512.01", "6", "base", "的缴存基数28512.01元高于上限28512.00元"),
    ("202707", "5000.00", "5", "ratio", "的单位缴存比例5%低于下限6%"),
    ("202707", "5000.00", "12", "ratio", "的个人缴存比例12%高于上限11%"),
    ("202707", "5000.00", "6", None, None),
    ("202707", "2075.00", "6", "base", "的月缴存额249.00元低于下限250.00元"),
    ("202707", "2083.34", "6", None, None),  # 125.00 + 125.00: at the lower bound
    ("202707", "27277.00", "11", "base", "的月缴存额6000.94元高于上限6000.00元"),
    ("202707", "27272.73", "11", None, None),  # 3000.00 + 3000.00: at the upper bound
])
def test_limits_at_and_beyond_each_bound_on_either_side_of_the_effective_date(
        app: Flask, employer_headers: dict[str, str], month: str, base: str, ratio: str, field: str | None,
        reason: str | None) -> None:
    values = registration("张三", resident_id(21), base=base, first_month=month, ratio=ratio)
    answer = add(app, employer_headers, TYPE, values)
    if field is None:
        assert answer.status_code == 201, answer.get_json()
        return
    assert answer.status_code == 422, answer.get_json()
    messages = answer.get_json()["errors"]["json"][field]
    assert f"张三（{resident_id(21)}）{reason}" in messages  # the member, the value and the bound
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_an_import_names_each_refused_row(app: Flask, employer_headers: dict[str, str]) -> None:
    from .member_support import filled, template, upload

    book = filled(template(app, employer_headers, TYPE, "12"), [
        ["李四", "", resident_id(22), "5000", "202706", ""],
        ["王五", "", resident_id(23), "30000", "202706", ""],
    ])
    checked = upload(app, employer_headers, TYPE, book, "12").get_json()["import"]
    assert (checked["good"], checked["bad"]) == (1, 1)
    assert checked["errors"] == [{"row": 3, "field": "缴存基数",
                                  "reason": f"王五（{resident_id(23)}）的缴存基数30000.00元高于上限26952.00元"}]


def test_a_month_without_a_policy_is_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    with app.app_context():
        db.session().execute(delete(PolicyVersion).where(PolicyVersion.effective_from < date(2027, 1, 1)))
        db.session().commit()
    answer = add(app, employer_headers, TYPE, registration("张三", resident_id(24), first_month="202612"))
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"]["first_month"] == ["该日期无生效的政策参数，请联系公积金中心"]


def test_a_future_version_changed_after_entry_is_checked_again_at_confirm(
        app: Flask, employer_headers: dict[str, str]) -> None:
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(25), base="28000",
                                                         first_month="202707", ratio="10")).status_code == 201
    with app.app_context():
        db.session().execute(update(PolicyVersion).where(PolicyVersion.effective_from == date(2027, 7, 1))
                             .values(base_max=D("26000.00")))
        db.session().commit()
    refused = commit(app, employer_headers, TYPE)
    assert refused.status_code == 422, refused.get_json()
    assert f"张三（{resident_id(25)}）的缴存基数28000.00元高于上限26000.00元" in refused.get_json()["message"]
    assert business_ids(app, TYPE) == []


def _opened(app: Flask, id_number: str) -> tuple[Member, list[Contribution]]:
    with app.app_context():
        session = db.session()
        member = session.scalars(select(Member).where(Member.id_number == id_number)).one()
        terms = list(session.scalars(select(Contribution).where(Contribution.member_no == member.member_no)))
        session.expunge_all()
    return member, terms


@pytest.mark.parametrize(("month", "places", "part", "total"), [
    ("202612", "0.01", "785.19", "1570.38"),  # DOMAIN.md: 6,543.21 at 12% + 12%, to the fen
    ("202702", "1", "785.00", "1570.00"),  # a center that rounds each part to the yuan: 785 + 785
])
def test_the_opening_stores_the_monthly_amount_as_the_first_months_policy_rounds_it(
        app: Flask, employer_headers: dict[str, str], month: str, places: str, part: str, total: str) -> None:
    with app.app_context():
        db.session().execute(update(PolicyVersion).where(PolicyVersion.effective_from == date(2027, 1, 1))
                             .values(amount_places="1", amount_min=D("100.00")))
        db.session().commit()
    add(app, employer_headers, TYPE, registration("张三", resident_id(26), base="6543.21", first_month=month))
    [row] = rows(app, employer_headers, TYPE)["items"]
    assert row["monthly_amount"] == total  # shown in the roster before 确认开户
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)
    assert decide(app, TYPE, business_id) == "processed"
    member, terms = _opened(app, resident_id(26))
    assert (member.employer_amount, member.personal_amount) == (D(part), D(part))
    [term] = terms
    assert (term.from_month, term.base, term.employer_amount, term.personal_amount) == (
        month, D("6543.21"), D(part), D(part))
    assert (term.business_type, term.business_id) == (TYPE, int(business_id))
    assert term.employer_amount + term.personal_amount == D(total)
    # The member list and 12.1 show what is stored, not a figure recomputed by another rule.
    listed = members_by_id(app, employer_headers)[resident_id(26)]
    assert (listed["employer_amount"], listed["monthly_amount"]) == (part, total)
    account = account_of(app, employer_headers, resident_id(26))
    assert account is not None and account["monthly_amount"] == total


def test_a_later_policy_change_does_not_rewrite_a_stored_amount(app: Flask, employer_headers: dict[str, str],
                                                                center_headers: dict[str, str]) -> None:
    add(app, employer_headers, TYPE, registration("张三", resident_id(27), base="6543.21", first_month="202702"))
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)
    decide(app, TYPE, business_id)
    with app.app_context():  # the center changes the rule of that version afterwards (a test's shortcut)
        db.session().execute(update(PolicyVersion).where(PolicyVersion.effective_from == date(2027, 1, 1))
                             .values(amount_places="1"))
        db.session().commit()
    member, [term] = _opened(app, resident_id(27))
    assert (member.employer_amount, term.personal_amount) == (D("785.19"), D("785.19"))


def test_the_policy_rounds_each_part_then_sums(app: Flask) -> None:
    with app.app_context():
        row = db.session().scalars(select(PolicyVersion).where(PolicyVersion.effective_from == date(2027, 1, 1))).one()
        fen = from_row(row)
        row.amount_places = "1"
        yuan = from_row(row)
        row.rounding = "ROUND_DOWN"
        down = from_row(row)
        db.session().rollback()
    ratio = D("0.12")
    assert fen.monthly_amount(D("6543.21"), ratio, ratio) == (D("785.19"), D("785.19"), D("1570.38"))
    assert yuan.monthly_amount(D("6543.21"), ratio, ratio) == (D("785.00"), D("785.00"), D("1570.00"))
    # 4,187.50 x 12% = 502.50: HALF_UP to the yuan takes 503 a part; rounding down keeps 502.
    assert yuan.monthly_amount(D("4187.50"), ratio, ratio)[2] == D("1006.00")
    assert down.monthly_amount(D("4187.50"), ratio, ratio)[2] == D("1004.00")
    # Each part rounded on its own: 0.005 + 0.005 would be 0.01 summed first, but is 0.01 + 0.01.
    assert fen.monthly_amount(D("0.05"), D("0.1"), D("0.1")) == (D("0.01"), D("0.01"), D("0.02"))
