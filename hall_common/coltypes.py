"""Exact decimal columns: money and ratios keep every fen on SQLite as on PostgreSQL.

SQLAlchemy's ``Numeric`` on SQLite is a float underneath: 100,000 x 0.10 summed in SQL gives
10000.000000018848. ``ScaledDecimal`` stores a scaled integer on SQLite (fen for money, 1/10000
for ratios), so ``SUM`` and comparisons in SQL are exact integer arithmetic, and a plain
``NUMERIC(p, s)`` elsewhere. Values come back as ``Decimal`` with exactly ``scale`` places.

In SQL, add, subtract, sum, min, max and compare such columns (a literal operand is bound as the
column's own type, so it is scaled too); multiply and divide in Python (``hall_common.money``): on
SQLite the integers carry their scale, so ``base * ratio`` in SQL would be off by a factor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 18
MONEY_SCALE = 2
RATIO_PRECISION = 5
RATIO_SCALE = 4


class ScaledDecimal(TypeDecorator[Decimal]):
    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("exact decimal columns take Decimal, int or str, never float")
        exact = Decimal(value)
        if exact != exact.quantize(self.quantum):
            # Rounding is a business rule (hall_common.money); the column never rounds silently.
            raise ValueError(f"{exact} has more than {self.scale} decimal places; round it first")
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact.quantize(self.quantum)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self.quantum)


def Money() -> ScaledDecimal:  # noqa: N802  (reads as a column type in models)
    """Yuan with two places: integer fen on SQLite, NUMERIC(18,2) on PostgreSQL."""
    return ScaledDecimal(MONEY_PRECISION, MONEY_SCALE)


def Ratio() -> ScaledDecimal:  # noqa: N802
    """A contribution ratio such as 0.1200: integer ten-thousandths on SQLite, NUMERIC(5,4) elsewhere."""
    return ScaledDecimal(RATIO_PRECISION, RATIO_SCALE)
