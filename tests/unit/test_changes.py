"""Change notices of watched tables (hall_common/changes.py): every write to a watched table through a
session announces the employers of exactly the rows it wrote once the session commits, whether the ORM
flushed it or a statement (``update(...)``, ``delete(...)``, ``insert(...)``) made it, with no call in
the code that writes; a rollback announces nothing. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Integer, String, bindparam, delete, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hall_common import changes

TOPIC = "unit-topic"


class Base(DeclarativeBase):
    pass


class Row(Base):
    """A table no service has: what a new business's table would be, watched in one line."""

    __tablename__ = "watched_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))


class Unwatched(Base):
    __tablename__ = "unwatched_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20))


changes.watch(Row, TOPIC)
TABLE = Row.__table__


class Published:
    """Stands in for Redis: what the commit hook sends, in order."""

    def __init__(self) -> None:
        self.channels: list[str] = []
        self.messages: list[tuple[str, str]] = []
        self.kept: dict[str, str] = {}

    def pipeline(self, transaction: bool = False) -> Published:
        return self

    def set(self, key: str, value: str, **_kwargs: Any) -> None:
        self.kept[key] = value

    def publish(self, channel_name: str, message: str) -> None:
        self.channels.append(channel_name)
        self.messages.append((channel_name, message))

    def execute(self) -> None:
        pass

    def employers(self) -> set[str]:
        found = {changes.parse(name) for name in self.channels}
        assert all(f is not None and f[0] == TOPIC for f in found), self.channels
        nos = {f[1] for f in found if f is not None}
        self.channels.clear()
        return nos


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    sent = Published()
    monkeypatch.setattr(changes, "_client", lambda: sent)
    return sent


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/w.db"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as opened:
        opened.add_all([Row(id=n, employer_no=f"E{n}", status="open") for n in range(1, 6)])
        opened.add(Unwatched(id=1, employer_no="U1"))
        opened.commit()
        yield opened
    engine.dispose()


def test_a_core_update_announces_the_rows_it_wrote_with_no_call_in_the_code(
        session: Session, published: Published) -> None:
    published.channels.clear()
    # As a once-only move is written: on the table, bound parameters, its row count deciding.
    move = (update(TABLE).where(TABLE.c.id == bindparam("row_id"), TABLE.c.status == "open")
            .values(status=bindparam("new_status")))
    moved = session.execute(move, {"row_id": 2, "new_status": "done"})
    assert moved.rowcount == 1  # type: ignore[attr-defined]
    session.commit()
    assert published.employers() == {"E2"}
    again = session.execute(move, {"row_id": 2, "new_status": "done"})  # it moved already: no row written
    assert again.rowcount == 0  # type: ignore[attr-defined]
    session.commit()
    assert published.channels == []


def test_a_statement_announces_after_the_commit_only_and_a_rollback_nothing(
        session: Session, published: Published) -> None:
    published.channels.clear()
    session.execute(update(Row).where(Row.id.in_((1, 3))).values(status="done"))
    assert published.channels == []  # not before the commit: a reader would refill with the old rows
    session.rollback()
    session.commit()
    assert published.channels == []
    assert session.scalar(select(Row.status).where(Row.id == 1)) == "open"


def test_orm_statements_deletes_inserts_and_flushes_announce_their_employers(
        session: Session, published: Published) -> None:
    published.channels.clear()
    session.execute(update(Row).where(Row.status == "open", Row.id >= 4).values(status="x"))  # ORM, synchronised
    session.execute(update(Row).where(Row.id == 1).values(status="y").execution_options(synchronize_session=False))
    session.execute(delete(TABLE).where(TABLE.c.id == 3))
    session.commit()
    assert published.employers() == {"E1", "E4", "E5"} | {"E3"}
    session.execute(insert(TABLE).values(id=10, employer_no="N10", status="open"))
    session.execute(insert(Row), [{"id": 11, "employer_no": "N11", "status": "open"},
                                  {"id": 12, "employer_no": "N12", "status": "open"}])
    session.execute(insert(TABLE).values(id=bindparam("i"), employer_no=bindparam("e"), status="open"),
                    {"i": 13, "e": "N13"})
    session.commit()
    assert published.employers() == {"N10", "N11", "N12", "N13"}
    row = session.get(Row, 2)
    assert row is not None
    row.status = "z"
    session.add(Row(id=20, employer_no="N20", status="open"))
    session.commit()
    assert published.employers() == {"E2", "N20"}
    session.execute(update(Unwatched).values(employer_no="U2"))
    session.commit()
    assert published.channels == []


def test_a_write_whose_rows_are_not_known_announces_every_employer(session: Session, published: Published) -> None:
    published.channels.clear()
    session.execute(insert(TABLE).from_select(["id", "employer_no", "status"],
                                              select(Unwatched.id + 100, Unwatched.employer_no, sa.literal("o"))))
    session.commit()
    assert published.employers() == {changes.EVERY}
    returned = session.execute(update(TABLE).where(TABLE.c.id == 1).values(status="r").returning(TABLE.c.id))
    assert returned.scalar_one() == 1  # the caller's own RETURNING stays as it wrote it
    session.commit()
    assert published.employers() == {changes.EVERY}
    many = session.execute(update(TABLE).where(TABLE.c.id == bindparam("row_id")).values(status="m"),
                           [{"row_id": 1}, {"row_id": 2}])
    assert many.rowcount == 2  # type: ignore[attr-defined]
    session.commit()
    assert published.employers() == {changes.EVERY}
    moved = session.execute(update(Row).where(Row.id == 4).values(employer_no="E9"))  # E4's row is E9's now
    assert moved.rowcount == 1  # type: ignore[attr-defined]
    session.commit()
    assert published.employers() == {changes.EVERY}


def test_one_channel_announced_with_several_messages_in_one_transaction_publishes_each(
        session: Session, published: Published) -> None:
    """As auth ends an account's sessions: each session's notice and kept key, none lost to the next."""
    published.channels.clear()
    for session_id in ("s1", "s2", "s3"):
        changes.announce(session, "unit:revoked", session_id, keep=(f"unit:revoked:{session_id}", 60))
    changes.announce(session, "unit:revoked", "s2", keep=("unit:revoked:s2", 60))  # twice: published once
    session.commit()
    assert sorted(published.messages) == [("unit:revoked", "s1"), ("unit:revoked", "s2"), ("unit:revoked", "s3")]
    assert published.kept == {f"unit:revoked:{s}": s for s in ("s1", "s2", "s3")}
