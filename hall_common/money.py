"""Money is Decimal yuan with two places, rounded HALF_UP; never float, never round()."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
YUAN = Decimal("1")


def to_money(value: Decimal | int | str, places: Decimal = FEN) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def monthly_amount(
    base: Decimal, employer_ratio: Decimal, personal_ratio: Decimal, places: Decimal = FEN
) -> tuple[Decimal, Decimal, Decimal]:
    """Employer part, personal part and their sum; each part rounded on its own, then summed."""
    employer_part = to_money(base * employer_ratio, places)
    personal_part = to_money(base * personal_ratio, places)
    return employer_part, personal_part, employer_part + personal_part
