"""Member account numbers (个人账号): the employer's number and a six-digit sequence of its own.

A registration takes all its numbers in one atomic update of the employer's counter (``RETURNING`` the
new last number), so concurrent registrations get disjoint ranges on SQLite (the update takes the write
lock) and on PostgreSQL (the row lock) alike; the member table's primary key stands behind it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hall_common import db

from .models import MemberCounter

SEQUENCE_DIGITS = 6


def allocate(employer_no: str, count: int) -> list[str]:
    if count <= 0:
        return []
    session = db.session()
    taking = (update(MemberCounter).where(MemberCounter.employer_no == employer_no)
              .values(last_seq=MemberCounter.last_seq + count).returning(MemberCounter.last_seq))
    last = session.scalar(taking)
    if last is None:  # the employer's first registration: create its counter, whoever is first
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(MemberCounter).values(employer_no=employer_no, last_seq=0)
                        .on_conflict_do_nothing(index_elements=["employer_no"]))
        last = session.scalar(taking)
    assert last is not None
    if last >= 10 ** SEQUENCE_DIGITS:
        raise RuntimeError(f"employer {employer_no} ran out of member numbers")
    return [f"{employer_no}{seq:0{SEQUENCE_DIGITS}d}" for seq in range(last - count + 1, last + 1)]
