"""What the payment service reads of the member service: the monthly amounts in force for a month (a
service token with member_read), and 单位基本信息's headcount by status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask

from deploy import demo_data
from deploy import seed as demo_seed
from hall_common import db

from .conftest import EMPLOYER_NO, auth, make_app, token_for


def reader() -> dict[str, str]:
    return auth(token_for("service", None, perms=("member_read",), login_name="payment"))


def member_app() -> Flask:
    app = make_app("member")
    with app.app_context():
        demo_seed.seed_member_demo()  # every demo member's terms from its first month
        db.session().commit()
    return app


def pages(app: Flask, month: str, per_page: int = 100) -> list[dict[str, Any]]:
    client, items, after = app.test_client(), [], ""
    while True:
        answer = client.get(f"/employers/{EMPLOYER_NO}/monthly-amounts?month={month}&after={after}&per_page={per_page}",
                            headers=reader())
        assert answer.status_code == 200, answer.get_json()
        items.extend(answer.get_json()["items"])
        after = answer.get_json()["next"]
        if after is None:
            return items


def test_the_normal_members_amounts_in_force_for_the_month_page_by_page() -> None:
    from services.member.models import Contribution

    app = member_app()
    normal = [m for m in demo_data.members() if m["status"] == "01"]
    items = pages(app, "202605", per_page=37)
    assert [i["member_no"] for i in items] == sorted(m["member_no"] for m in normal)  # sealed, frozen, closed: none
    first = normal[0]
    assert items[0] == {"member_no": first["member_no"], "employer_amount": str(first["employer_amount"]),
                        "personal_amount": str(first["personal_amount"]),
                        "monthly_amount": str(first["employer_amount"] + first["personal_amount"])}
    # A base adjustment effective from July 2026 leaves May as it was and counts from July.
    with app.app_context():
        db.session().add(Contribution(employer_no=EMPLOYER_NO, member_no=first["member_no"], from_month="202607",
                                      base=Decimal("10000.00"), employer_ratio=Decimal("0.1"),
                                      personal_ratio=Decimal("0.1"), employer_amount=Decimal("1000.00"),
                                      personal_amount=Decimal("1000.00"), business_type="base_adjustment"))
        db.session().commit()
    assert pages(app, "202606")[0]["monthly_amount"] == str(first["employer_amount"] + first["personal_amount"])
    assert pages(app, "202607")[0]["monthly_amount"] == "2000.00"
    # Before a member's first month it owes nothing for the month.
    early = {i["member_no"] for i in pages(app, "201506")}
    assert early == {m["member_no"] for m in normal if m["first_month"] <= "201506"}
    assert 0 < len(early) < len(normal)


def test_only_a_service_token_with_member_read_lists_them_and_bad_months_are_refused() -> None:
    app = member_app()
    client = app.test_client()
    path = f"/employers/{EMPLOYER_NO}/monthly-amounts"
    for headers in (auth(token_for()), auth(token_for("center", None)),
                    auth(token_for("service", None, perms=("push",), login_name="core"))):
        assert client.get(f"{path}?month=202605", headers=headers).status_code == 403
    for month in ("202613", "2026-05", "20260", "", "2026\x0005"):
        answer = client.get(path, query_string={"month": month}, headers=reader())
        assert answer.status_code == 422, month
    assert client.get(path, headers=reader()).get_json()["errors"]["query"]["month"] == ["请填写月份"]
    assert client.get(f"{path}?month=202605&per_page=1001", headers=reader()).status_code == 422
    assert client.get(f"{path}?month=202605&after=x%27", headers=reader()).status_code == 422
    other = client.get("/employers/999999999/monthly-amounts?month=202605", headers=reader()).get_json()
    assert other == {"items": [], "next": None}


def test_the_headcount_by_status_for_the_employers_basic_information() -> None:
    app = make_app("member")
    client = app.test_client()
    answer = client.get(f"/employers/{EMPLOYER_NO}/status-counts", headers=auth(token_for()))
    counts = {row["status_name"]: row["count"] for row in answer.get_json()}
    assert counts == {"正常": 270, "封存": 6, "合并销户": 0, "外部转出销户": 0, "提取销户": 2, "冻结": 2, "其他": 0}
    assert client.get(f"/employers/{EMPLOYER_NO}/status-counts",
                      headers=auth(token_for(employer_no="100100002"))).status_code == 403
    without = auth(token_for(perms=("member_query",)))
    assert client.get(f"/employers/{EMPLOYER_NO}/status-counts", headers=without).status_code == 403
