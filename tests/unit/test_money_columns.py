"""Money and ratios are stored exactly: SQL sums of fen never drift, on SQLite as on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from hall_common import db, migrate
from hall_common.money import to_money
from hall_common.settings import Settings, reset_settings
from services.member.models import Member
from services.payment.models import MemberAccount

from .conftest import make_app

ROWS = 100_000


def _insert_and_sum(session: Session) -> Decimal:
    amounts = (Decimal("0.01"), Decimal("0.10"))
    session.execute(sa.insert(MemberAccount), [
        {"member_no": f"M{n:07d}", "employer_no": "900900009", "balance": amounts[n % 2]} for n in range(ROWS)
    ])
    session.commit()
    total = session.scalar(sa.select(sa.func.sum(MemberAccount.balance)))
    assert isinstance(total, Decimal)
    # A reconciliation in SQL (is the employer balance the sum of its members'?) must compare exactly:
    # on a float column the sum is 5500.000000008947 and the check reports a false difference.
    reconciled = session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(MemberAccount.employer_no).group_by(MemberAccount.employer_no)
            .having(sa.func.sum(MemberAccount.balance) == Decimal("5500.00")).subquery()
        )
    )
    assert reconciled == 1
    return total


def test_sql_sum_of_fen_is_exact_on_sqlite() -> None:
    app = make_app("payment", seed=False)
    with app.app_context():
        total = _insert_and_sum(db.session())
        assert str(total) == "5500.00"  # a float column gives 5500.000000000xxx
        above = db.session().scalar(
            sa.select(sa.func.count()).select_from(MemberAccount).where(MemberAccount.balance > Decimal("0.01"))
        )
        assert above == ROWS // 2


def test_sql_sum_of_fen_is_exact_on_postgresql(postgres_url: str) -> None:
    migrate.upgrade("payment", postgres_url)
    engine = sa.create_engine(postgres_url)
    try:
        with Session(engine) as session:
            assert str(_insert_and_sum(session)) == "5500.00"
        column = sa.inspect(engine).get_columns("member_accounts")
        balance = next(c for c in column if c["name"] == "balance")
        assert (balance["type"].precision, balance["type"].scale) == (18, 2)
    finally:
        engine.dispose()


def test_money_and_ratios_round_trip_and_refuse_floats_or_extra_places() -> None:
    app = make_app("member", seed=False)
    with app.app_context():
        session = db.session()
        session.add(Member(member_no="M1", employer_no="E1", name="张三", id_number="11010519491231002X",
                           base=Decimal("12345678.91"), employer_ratio=Decimal("0.1234"),
                           personal_ratio=Decimal("0.05"), open_date=__import__("datetime").date(2020, 1, 1)))
        session.commit()
        session.expire_all()
        member = session.get(Member, "M1")
        assert member is not None
        assert (str(member.base), str(member.employer_ratio), str(member.personal_ratio)) == (
            "12345678.91", "0.1234", "0.0500")
        raw = session.execute(sa.text("SELECT base, employer_ratio FROM members")).one()
        assert tuple(raw) == (1234567891, 1234)  # integers on SQLite: exact by construction
        member.base = Decimal("0.001")
        with pytest.raises(sa.exc.StatementError, match="more than 2 decimal places"):
            session.commit()
        session.rollback()
        member.base = 0.1  # type: ignore[assignment]
        with pytest.raises(sa.exc.StatementError, match="never float"):
            session.commit()
        session.rollback()


def test_migration_converts_existing_float_rows_to_exact_fen(hall_env: object) -> None:
    url = Settings().database_url("payment")
    cfg = migrate.alembic_config("payment", url)
    command.upgrade(cfg, "0001")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO employer_accounts (employer_no, balance, unallocated) VALUES ('E1', 1234.56, 0.07)"
        ))
    command.upgrade(cfg, "heads")
    engine.dispose()
    app = make_app("payment", seed=False)
    with app.app_context():
        rows = db.session().execute(sa.text("SELECT balance, unallocated FROM employer_accounts")).one()
        assert tuple(rows) == (123456, 7)
    command.downgrade(cfg, "0001")
    with sa.create_engine(url).connect() as connection:
        assert connection.execute(sa.text("SELECT balance FROM employer_accounts")).scalar() == pytest.approx(1234.56)


def test_rounding_mode_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert to_money(Decimal("0.125")) == Decimal("0.13")
    monkeypatch.setenv("HALL_MONEY_ROUNDING", "ROUND_HALF_EVEN")
    reset_settings()
    assert to_money(Decimal("0.125")) == Decimal("0.12")
    with pytest.raises(ValueError, match="HALL_MONEY_ROUNDING"):
        Settings(money_rounding="HALF_UP")
