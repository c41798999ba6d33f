"""基数调整's arithmetic: a member's current figures, the new ones a category's value implies under the
policy of the effective month, and the raise that decides whether the chief approves too.

Everything is Decimal; a ratio is kept as the fraction the member stores (0.1200) and shown and typed as
a percentage (12)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from hall_common.money import FEN, monthly_amount

from .models import Member
from .policy import Policy

RATIO_PLACES = Decimal("0.0001")  # the member's ratio column: 12.34% at most two decimals of a percent
HUNDRED = Decimal(100)
# How far from the plain quotient a base is looked for whose rounded parts give the amount typed.
AMOUNT_SEARCH_FEN = 5


@dataclass(frozen=True)
class Figures:
    base: Decimal
    employer_ratio: Decimal  # a fraction, 0.1200
    personal_ratio: Decimal
    employer_amount: Decimal
    personal_amount: Decimal

    @property
    def amount(self) -> Decimal:
        return self.employer_amount + self.personal_amount

    def ratio_text(self) -> str:
        return f"{percent(self.employer_ratio)}%/{percent(self.personal_ratio)}%"


def percent(ratio: Decimal) -> str:
    """0.1200 -> "12", 0.1050 -> "10.5": the percentage as an operator types it."""
    text = f"{(ratio * HUNDRED).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_percent(text: str) -> Decimal | None:
    """A typed percentage ("12", "12%", "10.5") as the stored fraction, or None if it is not one."""
    value = text.strip().rstrip("%").strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0 or number > HUNDRED or number != number.quantize(Decimal("0.01")):
        return None
    return (number / HUNDRED).quantize(RATIO_PLACES)


def current(member: Member) -> Figures:
    """The member's figures now: the stored parts of the monthly amount (as the policy of their day
    rounded them) or, for a member stored before the parts were, the parts computed to the fen."""
    employer_part, personal_part = member.employer_amount, member.personal_amount
    if not employer_part and not personal_part:
        employer_part, personal_part, _ = monthly_amount(member.base, member.employer_ratio, member.personal_ratio)
    return Figures(member.base, member.employer_ratio, member.personal_ratio, employer_part, personal_part)


def with_base(policy: Policy, base: Decimal, employer_ratio: Decimal, personal_ratio: Decimal) -> Figures:
    employer_part, personal_part, _ = policy.monthly_amount(base, employer_ratio, personal_ratio)
    return Figures(base, employer_ratio, personal_ratio, employer_part, personal_part)


def base_for_amount(policy: Policy, amount: Decimal, employer_ratio: Decimal,
                    personal_ratio: Decimal) -> tuple[Decimal | None, list[Decimal]]:
    """The base whose monthly amount under ``policy`` is exactly ``amount`` (the one nearest the plain
    quotient), or None and the nearest amounts the ratios can give (each part is rounded on its own, so
    at 12% + 12% to the fen the amount is always an even number of fen)."""
    guess = (amount / (employer_ratio + personal_ratio)).quantize(FEN, rounding=ROUND_HALF_UP)
    reachable: dict[Decimal, Decimal] = {}
    for step in sorted(range(-AMOUNT_SEARCH_FEN, AMOUNT_SEARCH_FEN + 1), key=abs):
        base = guess + step * FEN
        if base <= 0:
            continue
        total = policy.monthly_amount(base, employer_ratio, personal_ratio)[2]
        if total == amount:
            return base, []
        reachable.setdefault(total, base)
    below = [t for t in reachable if t < amount]
    above = [t for t in reachable if t > amount]
    return None, [*([max(below)] if below else []), *([min(above)] if above else [])]


def raise_pct(old: Figures, new: Figures) -> Decimal:
    """The raise of the monthly amount in percent (base, amount and ratio categories alike), to 0.01."""
    if old.amount > 0:
        change = (new.amount - old.amount) / old.amount * HUNDRED
    elif old.base > 0:
        change = (new.base - old.base) / old.base * HUNDRED
    else:
        change = HUNDRED
    return change.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def max_raise_variable(raises: list[Decimal]) -> int:
    """The process variable ``max_raise_pct``: the largest raise rounded up to a whole percent, so a raise
    even a little above the chief's threshold (50.01% > 50) goes to the chief; a cut counts as 0."""
    largest = max(raises, default=Decimal(0))
    return max(0, int(largest.to_integral_value(rounding=ROUND_CEILING)))
