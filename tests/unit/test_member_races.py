"""The roster's once-only paths under real concurrency, on SQLite and PostgreSQL: one commit of a
roster however many clicks, operators filling one roster at once, member numbers never shared."""

from __future__ import annotations

from typing import Any

from ..threads import at_once
from .conftest import AnyDb, auth, token_for
from .member_support import add, business_ids, commit, decide, members_by_id, registration, resident_id, rows

TYPE = "member_registration"


def test_ten_simultaneous_commits_of_one_roster_make_one_business(any_db: AnyDb,
                                                                  employer_headers: dict[str, str]) -> None:
    app = any_db.app("member")
    for serial in range(20, 25):
        assert add(app, employer_headers, TYPE, registration(f"员工{serial}", resident_id(serial))).status_code == 201
    answers = at_once([lambda: commit(app, employer_headers, TYPE)] * 10)
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1, [a.get_json() for a in answers]
    assert all(code in (409, 422) for code in codes if code != 201)
    assert len(business_ids(app, TYPE)) == 1
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_two_operators_filling_one_roster_at_once_lose_nothing(any_db: AnyDb) -> None:
    app = any_db.app("member")
    first, second = (auth(token_for(login_name=name)) for name in ("100100001", "100100001-op2"))
    work = [lambda s=s, h=h: add(app, h, TYPE, registration(f"员工{s}", resident_id(s)))
            for s, h in [(30 + i, first if i % 2 else second) for i in range(10)]]
    assert [a.status_code for a in at_once(work)] == [201] * 10
    # The same person typed by both at the same moment: one row.
    same = at_once([lambda h=h: add(app, h, TYPE, registration("同一人", resident_id(50))) for h in (first, second)])
    assert sorted(a.status_code for a in same) in ([201, 409], [201, 422])
    assert rows(app, first, TYPE)["total"] == 11


def test_twenty_registrations_opened_at_once_never_share_a_member_number(any_db: AnyDb,
                                                                         employer_headers: dict[str, str]) -> None:
    app = any_db.app("member")
    for serial in range(60, 80):  # twenty rosters of one member each, committed one after another
        add(app, employer_headers, TYPE, registration(f"员工{serial}", resident_id(serial)))
        assert commit(app, employer_headers, TYPE).status_code == 201
    ids = business_ids(app, TYPE)
    assert len(ids) == 20
    results: list[Any] = at_once([lambda b=b: decide(app, TYPE, b) for b in ids])
    assert results == ["processed"] * 20, results
    members = members_by_id(app, employer_headers)
    numbers = [members[resident_id(s)]["member"]["member_no"] for s in range(60, 80)]
    assert len(set(numbers)) == 20


def test_an_approval_delivered_ten_times_at_once_opens_each_member_once(any_db: AnyDb,
                                                                        employer_headers: dict[str, str]) -> None:
    app = any_db.app("member")
    add(app, employer_headers, TYPE, registration("张三", resident_id(90)))
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)
    from hall_common.consumer import consume
    from hall_common.events import make_event

    event = make_event("workflow", "business.approved", {
        "business_type": TYPE, "business_id": business_id, "owner": "member", "employer_no": "100100001",
        "instance_id": 3, "approver": "", "opinion": ""})

    def deliver() -> Any:
        with app.app_context():
            return consume(dict(event))

    assert sorted(at_once([deliver] * 10)) == ["duplicate"] * 9 + ["processed"]
    page = app.test_client().get("/employers/100100001/members?per_page=200", headers=employer_headers).get_json()
    assert [i["member"]["id_number"] for i in page["items"]].count(resident_id(90)) == 1


def test_an_import_stages_and_adds_its_rows_on_either_database(any_db: AnyDb, employer_headers: dict[str, str]) -> None:
    """The staging insert is the driver's own executemany: the same rows on SQLite and PostgreSQL."""
    from .member_support import filled, template, upload

    app = any_db.app("member")
    content = filled(template(app, employer_headers, TYPE), [
        [f"员工{s}", None, resident_id(s), "5000", "202612", None] for s in range(100, 103)] + [
        ["坏行", None, "123", "5000", "202612", None]])
    found = upload(app, employer_headers, TYPE, content, option="11").get_json()["import"]
    assert (found["status"], found["good"], found["bad"]) == ("checked", 3, 1), found
    assert rows(app, employer_headers, TYPE)["total"] == 0
    accepted = app.test_client().post(f"/employers/100100001/imports/{found['id']}/accept", headers=employer_headers)
    assert accepted.status_code == 200, accepted.get_json()
    added = rows(app, employer_headers, TYPE)["items"]
    assert [(r["name"], r["ratio_text"], r["monthly_amount"]) for r in added] == [
        (f"员工{s}", "11%", "1100.00") for s in range(100, 103)]
