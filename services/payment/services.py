"""Employer account figures (the money business of ch. 5-7 builds on these accounts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hall_common import db
from hall_common.errors import BusinessError

from .models import EmployerAccount, MemberAccount, RemittanceBill


def account_summary(employer_no: str) -> dict[str, Any]:
    session = db.session()
    account = session.get(EmployerAccount, employer_no)
    if account is None:
        raise BusinessError("单位账户不存在", 404)
    members = session.scalar(
        select(func.count()).select_from(MemberAccount).where(MemberAccount.employer_no == employer_no)
    )
    # 最后汇缴月份: the latest month whose remittance bill is paid (a paid bill is booked, never unpaid again).
    last = session.scalar(select(func.max(RemittanceBill.month))
                          .where(RemittanceBill.employer_no == employer_no, RemittanceBill.status == "paid"))
    return {"employer_no": employer_no, "balance": account.balance, "unallocated": account.unallocated,
            "member_accounts": members or 0, "last_remittance_month": f"{last:%Y-%m}" if last else None}
