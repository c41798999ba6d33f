"""Member list with monthly amounts, the employer account, both scoped to the employer."""

from __future__ import annotations

from decimal import Decimal

from .conftest import make_app


def test_members_with_status_and_monthly_amounts(employer_headers: dict[str, str]) -> None:
    client = make_app("member").test_client()
    page = client.get("/employers/100100001/members?per_page=100", headers=employer_headers).get_json()
    assert page["total"] == 280
    assert page["status_counts"] == {"01": 270, "02": 6, "05": 2, "06": 2}
    for row in page["items"]:
        base = Decimal(row["member"]["base"])
        expected = (base * Decimal("0.12")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert Decimal(row["employer_amount"]) == expected
        assert Decimal(row["monthly_amount"]) == expected * 2
    sealed = client.get("/employers/100100001/members?status=02", headers=employer_headers).get_json()
    assert sealed["total"] == 6
    assert {row["status_name"] for row in sealed["items"]} == {"封存"}
    bad = client.get("/employers/100100001/members?status=77", headers=employer_headers)
    assert bad.status_code == 422
    assert bad.get_json()["message"] == "账户状态不正确"


def test_members_and_account_of_another_employer_are_refused(other_employer_headers: dict[str, str]) -> None:
    assert make_app("member").test_client().get(
        "/employers/100100001/members", headers=other_employer_headers).status_code == 403
    assert make_app("payment").test_client().get(
        "/employers/100100001/account", headers=other_employer_headers).status_code == 403


def test_employer_balance_is_the_sum_of_member_balances(employer_headers: dict[str, str]) -> None:
    from deploy import demo_data

    account = make_app("payment").test_client().get(
        "/employers/100100001/account", headers=employer_headers).get_json()
    assert Decimal(account["balance"]) == sum(Decimal(m["balance"]) for m in demo_data.members())
    assert account["unallocated"] == "0.00"
    assert account["member_accounts"] == 280
