"""Money is Decimal yuan with two places, never float, never round().

The rounding mode is a setting (``HALL_MONEY_ROUNDING``, default ``ROUND_HALF_UP`` per DOMAIN.md):
the center sets policy, so a change of rule is a configuration change, not a code change.
"""

from __future__ import annotations

from decimal import Decimal

from .settings import get_settings

FEN = Decimal("0.01")
YUAN = Decimal("1")


def rounding() -> str:
    """The configured ``decimal`` rounding mode (a ``ROUND_*`` name, validated at start)."""
    return get_settings().money_rounding


def to_money(value: Decimal | int | str, places: Decimal = FEN) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(places, rounding=rounding())


def monthly_amount(
    base: Decimal, employer_ratio: Decimal, personal_ratio: Decimal, places: Decimal = FEN
) -> tuple[Decimal, Decimal, Decimal]:
    """Employer part, personal part and their sum; each part rounded on its own, then summed."""
    employer_part = to_money(base * employer_ratio, places)
    personal_part = to_money(base * personal_ratio, places)
    return employer_part, personal_part, employer_part + personal_part
