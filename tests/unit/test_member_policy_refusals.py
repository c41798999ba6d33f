"""The limits of a policy as an operator reads their refusals: the member, the value and the bound."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.member.policy import Policy, refusals

D = Decimal
WHO = "张三（100000001）"


def policy(places: str = "0.01") -> Policy:
    return Policy(
        effective_from=date(2026, 7, 1), base_min=D("1980.00"), base_max=D("28512.00"),
        amount_min=D("198.00"), amount_max=D("6842.88"),
        employer_ratio_min=D("0.05"), employer_ratio_max=D("0.12"),
        personal_ratio_min=D("0.05"), personal_ratio_max=D("0.12"),
        amount_places=D(places), rounding="ROUND_HALF_UP", current_rate=D("0.015"), carried_rate=D("0.015"),
    )


@pytest.mark.parametrize(("places", "parts"), [("0.01", (D("785.19"), D("785.19"), D("1570.38"))),
                                               ("1", (D("785.00"), D("785.00"), D("1570.00")))])
def test_monthly_amount_rounds_each_part_then_sums(places: str, parts: tuple[Decimal, ...]) -> None:
    assert policy(places).monthly_amount(D("6543.21"), D("0.12"), D("0.12")) == parts


def test_half_a_fen_rounds_up() -> None:
    # 1980.125 x 0.05 = 99.00625 -> 99.01 each side: HALF_UP, not banker's rounding
    assert policy().monthly_amount(D("1980.125"), D("0.05"), D("0.05"))[2] == D("198.02")


@pytest.mark.parametrize("base", [D("1980.00"), D("28512.00")])
def test_bases_at_either_bound_are_within(base: Decimal) -> None:
    assert refusals(policy(), WHO, base, D("0.05"), D("0.05")) == []


def test_base_below_the_lower_bound_names_member_value_and_bound() -> None:
    [refusal] = refusals(policy(), WHO, D("1979.99"), D("0.12"), D("0.12"))
    assert refusal.field == "缴存基数"
    assert refusal.reason == "张三（100000001）的缴存基数1979.99元低于下限1980.00元"


def test_base_above_the_upper_bound_is_refused() -> None:
    [refusal] = refusals(policy(), WHO, D("28512.01"), D("0.05"), D("0.05"))
    assert refusal.reason == "张三（100000001）的缴存基数28512.01元高于上限28512.00元"


def test_ratios_outside_their_bounds_name_the_side() -> None:
    found = refusals(policy(), WHO, D("5000"), D("0.0499"), D("0.1201"))
    assert [r.field for r in found] == ["单位缴存比例", "个人缴存比例"]
    assert found[0].reason == "张三（100000001）的单位缴存比例4.99%低于下限5%"
    assert found[1].reason == "张三（100000001）的个人缴存比例12.01%高于上限12%"


def test_monthly_amount_beyond_its_bounds_is_refused_when_base_and_ratios_are_within() -> None:
    # 28512.00 x 12% = 3421.44 per side, 6842.88 in all: exactly the upper bound
    assert refusals(policy(), WHO, D("28512.00"), D("0.12"), D("0.12")) == []
    tight = Policy(**{**policy().__dict__, "amount_max": D("6842.87")})
    [refusal] = refusals(tight, WHO, D("28512.00"), D("0.12"), D("0.12"))
    assert refusal.field == "月缴存额"
    assert refusal.reason == "张三（100000001）的月缴存额6842.88元高于上限6842.87元"
    low = Policy(**{**policy().__dict__, "amount_min": D("198.01")})
    [refusal] = refusals(low, WHO, D("1980.00"), D("0.05"), D("0.05"))
    assert refusal.reason == "张三（100000001）的月缴存额198.00元低于下限198.01元"
