"""基数调整's tests: the policy versions they insert directly, its months, its API calls."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Flask

from deploy import demo_data
from hall_common import db

from .member_support import BASE

TYPE = "base_adjustment"
NORMAL = [m for m in demo_data.members() if m["status"] == "01"]
SEALED = [m for m in demo_data.members() if m["status"] == "02"]
FROZEN = [m for m in demo_data.members() if m["status"] == "06"]


def month_of(offset: int) -> tuple[date, str]:
    """The first day and the YYYYMM of the month ``offset`` months from this one."""
    today = date.today()
    index = today.year * 12 + today.month - 1 + offset
    first = date(index // 12, index % 12 + 1, 1)
    return first, f"{first:%Y%m}"


# Two policies either side of next month's first day (a Shanxi-like change of the adjustment year).
THIS_MONTH = month_of(0)[1]
NEXT_MONTH = month_of(1)[1]
OLD_POLICY = {"base_min": "1880.00", "base_max": "26952.00", "amount_min": "188.00", "amount_max": "6468.48"}
NEW_POLICY = {"base_min": "1980.00", "base_max": "28512.00", "amount_min": "198.00", "amount_max": "6842.88"}


def insert_policies(app: Flask, places: str = "0.01", **overrides: str) -> None:
    """These two versions and no other (a seeded demo policy would otherwise be the one in force)."""
    from sqlalchemy import delete

    from services.member.models import PolicyVersion

    with app.app_context():
        session = db.session()
        session.execute(delete(PolicyVersion))
        for starts, limits in ((month_of(-6)[0], OLD_POLICY), (month_of(1)[0], NEW_POLICY)):
            values = {**limits, **overrides}
            session.add(PolicyVersion(
                effective_from=starts, **{k: Decimal(v) for k, v in values.items()},
                employer_ratio_min=Decimal("0.05"), employer_ratio_max=Decimal("0.12"),
                personal_ratio_min=Decimal("0.05"), personal_ratio_max=Decimal("0.12"),
                amount_places=places, rounding="ROUND_HALF_UP",
                current_rate=Decimal("0.015"), carried_rate=Decimal("0.015")))
        session.commit()


def values(member_no: str, category: str = "base", month: str = THIS_MONTH, **figures: str) -> dict[str, str]:
    return {"member_no": member_no, "category": category, "effective_month": month, **figures}


def preview(app: Flask, headers: dict[str, str], entry: dict[str, str]) -> Any:
    return app.test_client().post(f"{BASE}/base-adjustment/preview", json={"values": entry}, headers=headers)


def set_member(app: Flask, member_no: str, **changes: Any) -> None:
    from services.member.models import Member

    with app.app_context():
        member = db.session().get(Member, member_no)
        assert member is not None
        for key, value in changes.items():
            setattr(member, key, value)
        if {"base", "employer_ratio", "personal_ratio"} & changes.keys() and "employer_amount" not in changes:
            # A consistent member: its stored amount parts are those of its terms, to the fen.
            fen = Decimal("0.01")
            member.employer_amount = (member.base * member.employer_ratio).quantize(fen, rounding=ROUND_HALF_UP)
            member.personal_amount = (member.base * member.personal_ratio).quantize(fen, rounding=ROUND_HALF_UP)
        db.session().commit()
