"""Employer account figures (the money business of ch. 5-7 builds on these accounts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hall_common import db
from hall_common.errors import BusinessError

from .models import EmployerAccount, MemberAccount


def account_summary(employer_no: str) -> dict[str, Any]:
    session = db.session()
    account = session.get(EmployerAccount, employer_no)
    if account is None:
        raise BusinessError("单位账户不存在", 404)
    members = session.scalar(
        select(func.count()).select_from(MemberAccount).where(MemberAccount.employer_no == employer_no)
    )
    return {"employer_no": employer_no, "balance": account.balance, "unallocated": account.unallocated,
            "member_accounts": members or 0}
