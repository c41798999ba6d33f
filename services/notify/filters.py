"""The filters of a box's full history (更多): by date and by business."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement


@dataclass(frozen=True)
class Filters:
    start_date: date | None = None
    end_date: date | None = None
    business_type: str | None = None

    @classmethod
    def of(cls, query: dict[str, Any]) -> Filters | None:
        found = cls(query.get("start_date"), query.get("end_date"), query.get("business_type") or None)
        return found if found != cls() else None

    def on(self, at: Any, business_type: Any) -> list[ColumnElement[bool]]:
        """Conditions on a time column and a business type column; the end date is inclusive."""
        where: list[ColumnElement[bool]] = []
        if self.start_date:
            where.append(at >= datetime.combine(self.start_date, time.min))
        if self.end_date and self.end_date < date.max:  # 9999-12-31: no day after it, and no bound needed
            where.append(at < datetime.combine(self.end_date + timedelta(days=1), time.min))
        if self.business_type:
            where.append(business_type == self.business_type)
        return where
