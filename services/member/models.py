from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.coltypes import Money, Ratio
from hall_common.models import plumbing_models

# Member account status (个人账户状态), JGJ/T 320-2014
STATUS_NAMES = {
    "01": "正常", "02": "封存", "03": "合并销户", "04": "外部转出销户", "05": "提取销户", "06": "冻结", "99": "其他",
}


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class Member(Base):
    __tablename__ = "members"
    member_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(18))
    base: Mapped[Decimal] = mapped_column(Money())
    employer_ratio: Mapped[Decimal] = mapped_column(Ratio())
    personal_ratio: Mapped[Decimal] = mapped_column(Ratio())
    status: Mapped[str] = mapped_column(String(2), default="01")
    open_date: Mapped[date] = mapped_column(Date)
