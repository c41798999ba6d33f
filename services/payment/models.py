from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common import changes
from hall_common.coltypes import Money
from hall_common.models import plumbing_models


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class EmployerAccount(Base):
    __tablename__ = "employer_accounts"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Invariant: balance == sum of the employer's member account balances.
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    unallocated: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class MemberAccount(Base):
    __tablename__ = "member_accounts"
    member_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    balance: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


# The gateway's home page caches the account summary (balance, member count): every ORM change of these
# rows tells it after the commit.
changes.watch(EmployerAccount, changes.ACCOUNT)
changes.watch(MemberAccount, changes.ACCOUNT)
