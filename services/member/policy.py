"""The center's policy (政策参数) as the member businesses read it: the version in force on a date.

Limits are checked against the policy in force on a business's effective date (a base adjustment's
first day of its effective month, a registration's first month); what a check produced (the monthly
amount's parts) is stored with the member, so a later policy never rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError

from .models import PolicyVersion

NO_POLICY = "该日期无生效的政策参数，请联系公积金中心"


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
        personal_part = (base * personal_ratio).quantize(self.amount_places, rounding=self.rounding)
        fen = Decimal("0.01")
        return employer_part.quantize(fen), personal_part.quantize(fen), (employer_part + personal_part).quantize(fen)


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
