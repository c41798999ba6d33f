"""Template filters for the hall's pages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import Flask

CENT = Decimal("0.01")


def money(value: Any) -> str:
    """An amount as the hall shows it: thousands separators and two decimals (1,234,567.89), exact:
    the services send amounts as decimal strings and they stay Decimal here (HALF_UP to the cent),
    never a float. A value that is not a number is shown as it came; nothing shows as empty."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):  # never expected; via str() so 0.1 stays 0.10, not 0.1000000000000000055
        value = str(value)
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        if not amount.is_finite():
            return str(value)
        return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


def register(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
