"""Closed employers (零余额销户): their accounts may log in and query, nothing else.

The employer service closes the account and says so by ``employer.closed``; here every live session
of the employer's accounts ends at once, and every token issued from then on (a new login or a renewal)
carries only the query permissions, so the home page offers the queries only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hall_common import db

from .models import EMPLOYER, ClosedEmployer, Operator

# What a closed employer's accounts keep (hall_common.permissions.PERMISSIONS).
QUERY_PERMISSIONS = frozenset({"employer_info", "employer_query", "member_query"})


def is_closed(employer_no: str | None) -> bool:
    if not employer_no:
        return False
    return db.session().get(ClosedEmployer, employer_no) is not None


def record_closed(employer_no: str, event_id: str) -> list[str]:
    """Record the closure once (a redelivery finds the row); the employer's accounts, whose sessions end."""
    session = db.session()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ClosedEmployer).values(employer_no=employer_no, closed_at=db.utcnow(), event_id=event_id)
                    .on_conflict_do_nothing(index_elements=["employer_no"]))
    return list(session.scalars(select(Operator.login_name).where(Operator.role == EMPLOYER,
                                                                  Operator.employer_no == employer_no)))
