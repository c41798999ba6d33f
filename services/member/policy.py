"""The center's policy (政策参数) as the member businesses read it: the version in force on a date.

Limits are checked against the policy in force on a business's effective date (a base adjustment's
first day of its effective month, a registration's first month); what a check produced (the monthly
amount's parts) is stored with the member, so a later policy never rewrites history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import repeat
from operator import add, ge, le, mul
from typing import Any

from flask import g, has_app_context
from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError

from .models import PolicyVersion

NO_POLICY = "该日期无生效的政策参数，请联系公积金中心"
FEN = Decimal("0.01")


@dataclass(frozen=True)
class Policy:
    effective_from: date
    base_min: Decimal
    base_max: Decimal
    amount_min: Decimal
    amount_max: Decimal
    employer_ratio_min: Decimal
    employer_ratio_max: Decimal
    personal_ratio_min: Decimal
    personal_ratio_max: Decimal
    amount_places: Decimal  # Decimal("0.01") (fen) or Decimal("1") (yuan)
    rounding: str  # a decimal ROUND_* mode
    current_rate: Decimal
    carried_rate: Decimal

    def monthly_amount(self, base: Decimal, employer_ratio: Decimal,
                       personal_ratio: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """Employer part, personal part and their sum: each part rounded on its own by this policy's
        rule, then summed (DOMAIN.md), kept with two places for the money columns."""
        employer_part = (base * employer_ratio).quantize(self.amount_places, rounding=self.rounding)
        personal_part = (employer_part if personal_ratio == employer_ratio  # one ratio (registration): once
                         else (base * personal_ratio).quantize(self.amount_places, rounding=self.rounding))
        return employer_part.quantize(FEN), personal_part.quantize(FEN), (employer_part + personal_part).quantize(FEN)


def from_row(row: PolicyVersion) -> Policy:
    return Policy(
        effective_from=row.effective_from, base_min=row.base_min, base_max=row.base_max,
        amount_min=row.amount_min, amount_max=row.amount_max,
        employer_ratio_min=row.employer_ratio_min, employer_ratio_max=row.employer_ratio_max,
        personal_ratio_min=row.personal_ratio_min, personal_ratio_max=row.personal_ratio_max,
        amount_places=Decimal(row.amount_places), rounding=row.rounding,
        current_rate=row.current_rate, carried_rate=row.carried_rate,
    )


def in_force(on: date) -> Policy:
    """The policy in force on ``on``: the version with the latest effective date not after it."""
    row = db.session().scalar(select(PolicyVersion).where(PolicyVersion.effective_from <= on)
                              .order_by(PolicyVersion.effective_from.desc()).limit(1))
    if row is None:
        raise BusinessError(NO_POLICY, 422)
    return from_row(row)


def month_start(month: str) -> date:
    """The first day of a YYYYMM month (already validated)."""
    return date(int(month[:4]), int(month[4:6]), 1)


def of_month(month: str) -> Policy:
    """The policy in force on the first day of a YYYYMM month (a business's effective month)."""
    return in_force(month_start(month))


def month_policy(month: str, memo: dict[str, Any] | None = None) -> Policy | None:
    """The policy of a month, or None when no version is in force then; remembered in ``memo`` (an
    import's chunks share one) or else for the request, never longer: a future version may still change."""
    if memo is None:
        memo = g.setdefault("month_policies", {}) if has_app_context() else {}
    policies: dict[str, Policy | None] = memo.setdefault("policies", {})
    if month not in policies:
        try:
            policies[month] = of_month(month)
        except BusinessError:
            policies[month] = None
    return policies[month]


def all_within(policy: Policy, bases: Sequence[Decimal], employer_ratio: Decimal,
               personal_ratio: Decimal) -> list[bool]:
    """For each base: True exactly when ``refusals`` finds nothing (its bounds, without wording a
    refusal), a column at a time: ``monthly_amount``'s total by C-level maps, for an import's 100,000
    rows. Bases as the money cells allow (at most 12 integer digits)."""
    if not (policy.employer_ratio_min <= employer_ratio <= policy.employer_ratio_max
            and policy.personal_ratio_min <= personal_ratio <= policy.personal_ratio_max):
        return [False] * len(bases)
    places, mode = repeat(policy.amount_places), repeat(policy.rounding)
    employer = list(map(Decimal.quantize, map(mul, bases, repeat(employer_ratio)), places, mode))
    personal = (employer if personal_ratio == employer_ratio
                else list(map(Decimal.quantize, map(mul, bases, repeat(personal_ratio)), places, mode)))
    totals = list(map(Decimal.quantize, map(add, employer, personal), repeat(FEN)))
    return list(map(all, zip(map(le, repeat(policy.base_min), bases), map(ge, repeat(policy.base_max), bases),
                             map(le, repeat(policy.amount_min), totals), map(ge, repeat(policy.amount_max), totals),
                             strict=True)))


@dataclass(frozen=True)
class Refusal:
    field: str  # the label of the field refused (缴存基数, 月缴存额, 单位缴存比例, 个人缴存比例)
    reason: str  # names the member, the value and the bound


def refusals(policy: Policy, who: str, base: Decimal, employer_ratio: Decimal,
             personal_ratio: Decimal) -> list[Refusal]:
    """Every limit of ``policy`` the figures break, each naming ``who`` (e.g. "张三（100000001）"), the value
    and the bound, so one refusal says all an operator needs to correct the row."""
    found: list[Refusal] = []

    def bound(label: str, value: Decimal, low: Decimal, high: Decimal, text: Callable[[Decimal], str]) -> None:
        if value < low:
            found.append(Refusal(label, f"{who}的{label}{text(value)}低于下限{text(low)}"))
        elif value > high:
            found.append(Refusal(label, f"{who}的{label}{text(value)}高于上限{text(high)}"))

    def money(value: Decimal) -> str:
        return f"{value:.2f}元"

    def percent(value: Decimal) -> str:
        return f"{(value * 100).normalize():f}%"

    bound("缴存基数", base, policy.base_min, policy.base_max, money)
    bound("单位缴存比例", employer_ratio, policy.employer_ratio_min, policy.employer_ratio_max, percent)
    bound("个人缴存比例", personal_ratio, policy.personal_ratio_min, policy.personal_ratio_max, percent)
    if not found:
        total = policy.monthly_amount(base, employer_ratio, personal_ratio)[2]
        bound("月缴存额", total, policy.amount_min, policy.amount_max, money)
    return found
