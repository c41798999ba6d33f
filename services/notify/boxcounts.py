"""The maintained size of every employer's box: changed in the same transaction as each insert, move
or delete it counts, read with one indexed lookup. Shared by the inbox items (services.py) and the
process tracks (tracks.py), so neither imports the other for it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hall_common import db

from . import live
from .models import BOXES, BoxCount


def bump(session: Session, employer_no: str, box: str, delta: int) -> None:
    """Change a box's count by ``delta`` in the caller's transaction, beside the insert, move or delete
    it counts. One atomic upsert (``n = n + delta`` in the database, never read-modify-write in Python),
    so simultaneous writers each add their own step and the first item of a box creates its row."""
    session.execute(_bump_statement(session.get_bind().dialect.name),
                    {"b_employer_no": employer_no, "b_box": box, "b_n": delta})
    live.mark(session, employer_no)  # every inbox change moves a count: the open pages hear of it


@lru_cache(maxsize=4)
def _bump_statement(dialect_name: str) -> Any:
    """Built once per dialect with bound parameters: it runs with nearly every event notify handles."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = BoxCount.__table__
    insert = dialect.insert(table).values(employer_no=bindparam("b_employer_no", type_=table.c.employer_no.type),
                                          box=bindparam("b_box", type_=table.c.box.type),
                                          n=bindparam("b_n", type_=table.c.n.type))
    return insert.on_conflict_do_update(
        index_elements=[table.c.employer_no, table.c.box], set_={"n": table.c.n + insert.excluded.n},
    )


def bump_each(session: Session, employer_nos: list[str], box: str) -> None:
    """One more item in ``box`` for each of these (distinct) employers: one upsert for a whole batch."""
    if not employer_nos:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = BoxCount.__table__
    insert = dialect.insert(table).values([{"employer_no": no, "box": box, "n": 1} for no in employer_nos])
    session.execute(insert.on_conflict_do_update(
        index_elements=[table.c.employer_no, table.c.box], set_={"n": table.c.n + insert.excluded.n},
    ))
    for employer_no in employer_nos:
        live.mark(session, employer_no)


def counts(employer_no: str) -> dict[str, int]:
    """Every box's size from the maintained counts: one indexed read whatever the boxes hold."""
    query = select(BoxCount.box, BoxCount.n).where(BoxCount.employer_no == employer_no)
    found = {box: n for box, n in db.session().execute(query)}
    return {box: found.get(box, 0) for box in BOXES}
