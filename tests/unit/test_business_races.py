"""Fifty identical submissions of every business type at once, through the owner's real HTTP routes, on
SQLite and PostgreSQL: one is accepted, the other 49 are refused with the business's own words, and one
business is stored with one ``business.submitted``.

The types come from the catalog and the services' registries: a type without a recipe here fails
``test_every_registered_business_type_has_a_race_recipe`` by name. A recipe readies one submittable
business (a roster of rows, a form's changes) and says how to submit it, what the refused are told, and
how many businesses of the type are stored.

A roster's 提交 sends what the gateway sends (hall.roster_commit): the ticked rows for a roster whose
scope is "selected", [] for scope "all". A click that reads the roster after the winner took its rows
finds it empty and is told so (清册为空); one that read it before is told it changed (清册已提交或已变化).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from deploy import demo_data
from hall_common import business_types, db
from hall_common.roster import EMPTY, STALE

from ..reliability import Recorder
from ..threads import at_once
from .closure_support import CLEAN_NO, closure_apps
from .conftest import EMPLOYER_NO, AnyDb, auth, outbox_events, token_for

RACERS = 50
BASE = f"/employers/{EMPLOYER_NO}"
MEMBERS = demo_data.members()
NORMAL = [m["member_no"] for m in MEMBERS if m["status"] == "01"]
SEALED = [m["member_no"] for m in MEMBERS if m["status"] == "02"]


@dataclass(frozen=True)
class Race:
    """One business ready to be submitted, on the app that owns it."""

    app: Flask
    submit: Callable[[], Any]  # one click: the owner's response
    refusals: frozenset[tuple[int, str]]  # (status, message) a refused click may answer, each the code's own
    stored: Callable[[], int]  # businesses of the type stored (rows of its own table)


Recipe = Callable[[AnyDb, pytest.MonkeyPatch], Race]


def count(app: Flask, model: Any, *where: Any) -> Callable[[], int]:
    def stored() -> int:
        with app.app_context():
            return int(db.session().scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return stored


def post(app: Flask, url: str, body: Any, headers: dict[str, str]) -> Callable[[], Any]:
    return lambda: app.test_client().post(url, json=body, headers=headers)


# -- the change forms: one pending request per subject ---------------------------------------------------

def employer_change(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.employer.models import ChangeRequest
    from services.employer.services import DUPLICATE_MESSAGE

    app = any_db.app("employer")
    body = {"changes": [{"field": "address", "value": "并发路50号"}]}
    return Race(app, post(app, f"{BASE}/change-requests", body, auth(token_for())),
                frozenset({(409, DUPLICATE_MESSAGE)}),
                count(app, ChangeRequest, ChangeRequest.employer_no == EMPLOYER_NO))


def member_change(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.member.info_change import PENDING_MESSAGE
    from services.member.models import MemberChangeRequest

    app = any_db.app("member")
    body = {"member_no": NORMAL[8], "changes": [{"field": "duty", "value": "科长"}]}
    return Race(app, post(app, f"{BASE}/member-changes", body, auth(token_for())),
                frozenset({(409, PENDING_MESSAGE)}), count(app, MemberChangeRequest))


def zero_balance_closure(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    """The employer service on the database under test; the payment, member and workflow apps it asks
    whether anything blocks the closure answer in process (as test_closure.py's)."""
    from services.employer.closure import PENDING_MESSAGE
    from services.employer.models import ClosureRequest

    app = closure_apps(monkeypatch, lambda: any_db.app("employer"))["employer"]
    headers = auth(token_for(employer_no=CLEAN_NO, perms=("closure", "employer_info")))
    return Race(app, post(app, f"/employers/{CLEAN_NO}/closure", None, headers),
                frozenset({(409, PENDING_MESSAGE)}), count(app, ClosureRequest, ClosureRequest.employer_no == CLEAN_NO))


# -- the rosters: rows entered, then one commit ----------------------------------------------------------

def roster(app: Flask, book: Any, type_: str, entries: list[dict[str, str]]) -> Race:
    """The rows entered one by one, then the commit as the gateway sends it."""
    headers = auth(token_for())
    client = app.test_client()
    ids = []
    for values in entries:
        added = client.post(f"{BASE}/rosters/{type_}/rows", json={"values": values}, headers=headers)
        assert added.status_code == 201, added.get_json()
        ids.append(added.get_json()["row"]["id"])
    scope = book.get(type_).commit_scope
    refusals = {(409, STALE)} | ({(422, EMPTY)} if scope == "all" else set())
    batch = book.models.batch
    return Race(app, post(app, f"{BASE}/rosters/{type_}/commit", {"row_ids": ids if scope == "selected" else []},
                          headers),
                frozenset(refusals), count(app, batch, batch.business_type == type_))


def member_registration(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.member.businesses import BOOK

    from .member_support import registration, resident_id

    app = any_db.app("member")
    return roster(app, BOOK, "member_registration",
                  [registration(f"员工{s}", resident_id(s)) for s in range(700, 703)])


def member_seal(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.member.businesses import BOOK

    app = any_db.app("member")
    return roster(app, BOOK, "member_seal", [{"member_no": m, "reason": "离职"} for m in NORMAL[:3]])


def member_unseal(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.member.businesses import BOOK

    app = any_db.app("member")
    return roster(app, BOOK, "member_unseal", [{"member_no": m, "reason": "正常启封"} for m in SEALED[:3]])


def base_adjustment(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.member.businesses import BOOK

    from .adjustment_support import insert_policies, values

    app = any_db.app("member")
    insert_policies(app)
    return roster(app, BOOK, "base_adjustment", [values(m, base="6000") for m in NORMAL[3:6]])


def supplementary_payment(any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> Race:
    from services.payment.businesses import BOOK

    from .supplement_support import entry, fund, with_members

    with_members(monkeypatch)
    app = any_db.app("payment")
    fund(app, "1000.00")
    return roster(app, BOOK, "supplementary_payment", [entry(m, "202501", "100.00") for m in NORMAL[:3]])


# Every business type -> how to ready one for submission. Asserted against the registries below.
RECIPES: dict[str, Recipe] = {
    "employer_change": employer_change,
    "zero_balance_closure": zero_balance_closure,
    "member_change": member_change,
    "member_registration": member_registration,
    "member_seal": member_seal,
    "member_unseal": member_unseal,
    "base_adjustment": base_adjustment,
    "supplementary_payment": supplementary_payment,
}


def registered_types() -> set[str]:
    """The catalog's types and every type a service registers (its own BusinessRegistry)."""
    import services.employer
    import services.member
    import services.payment  # noqa: F401 - importing a service registers its businesses
    from services.employer.services import BUSINESSES as EMPLOYER
    from services.member.businesses import BUSINESSES as MEMBER
    from services.payment.businesses import BUSINESSES as PAYMENT

    return {info.type for info in business_types.DEFAULTS} | {
        type_ for registry in (EMPLOYER, MEMBER, PAYMENT) for type_ in registry.types()}


def test_every_registered_business_type_has_a_race_recipe() -> None:
    types = registered_types()
    assert sorted(types - RECIPES.keys()) == [], "business types without a race recipe in RECIPES"
    assert sorted(RECIPES.keys() - types) == [], "recipes for types nobody registers"


@pytest.mark.parametrize("business_type", sorted(RECIPES))
def test_fifty_identical_submissions_at_once_store_one_business(
    business_type: str, any_db: AnyDb, monkeypatch: pytest.MonkeyPatch, reliability_report: Recorder
) -> None:
    """Fifty identical submissions of one business type at once through its owner's real route: one
    accepted, forty-nine refused with the business's own message, one business and one event stored."""
    race = RECIPES[business_type](any_db, monkeypatch)
    assert race.stored() == 0
    answers = at_once([race.submit] * RACERS)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    accepted = [a for a in answers if a.status_code == 201]
    refused = [(a.status_code, a.get_json()["message"]) for a in answers if a.status_code != 201]
    reliability_report.figures(requests=RACERS, duplicated=max(0, race.stored() - 1),
                               server_errors=sum(1 for a in answers if a.status_code >= 500))
    assert len(accepted) == 1, (len(accepted), sorted(set(refused)))
    assert len(refused) == RACERS - 1 and set(refused) <= race.refusals, sorted(set(refused))
    assert race.stored() == 1
    submitted = [e["data"] for e in outbox_events(race.app) if e["type"] == "business.submitted"]
    assert [d["business_type"] for d in submitted] == [business_type]
    # A click after the race is refused the same way (the business is pending): nothing slipped through.
    late = race.submit()
    assert (late.status_code, late.get_json()["message"]) in race.refusals
    assert race.stored() == 1
