"""The money's invariant, read through the payment service's models in any session: the unit tests'
(tests/unit/payment_money_support.py) on their app's database, the chaos run's on the stack's."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def figures(session: Session, employer_no: str) -> dict[str, Decimal]:
    """The employer's balance, its members' sum, its journal's sum, its unallocated amount and the sum of
    its unallocated movements: the invariant says the first three and the last two agree."""
    from services.payment.models import EmployerAccount, JournalLine, MemberAccount, UnallocatedMovement

    account = session.get_one(EmployerAccount, employer_no)
    return {
        "balance": account.balance,
        "members": session.scalar(select(func.sum(MemberAccount.balance))
                                  .where(MemberAccount.employer_no == employer_no)) or Decimal("0.00"),
        "journal": session.scalar(select(func.sum(JournalLine.amount + JournalLine.interest))
                                  .where(JournalLine.employer_no == employer_no)) or Decimal("0.00"),
        "unallocated": account.unallocated,
        "movements": session.scalar(select(func.sum(UnallocatedMovement.amount))
                                    .where(UnallocatedMovement.employer_no == employer_no)) or Decimal("0.00"),
    }


def holds(found: dict[str, Decimal]) -> bool:
    return found["balance"] == found["members"] == found["journal"] and \
        found["unallocated"] == found["movements"] >= 0


def problems(session: Session) -> list[str]:
    """Every account's invariant, no journal entry booked twice from one source, every paid bill paid by
    an entry of its amount: the hypothesis test's checks after each step, the chaos run's at its end."""
    from services.payment.models import EmployerAccount, JournalEntry, RemittanceBill

    found = []
    for employer_no in session.scalars(select(EmployerAccount.employer_no)):
        account = figures(session, employer_no)
        if not holds(account):
            found.append(f"{employer_no}: {account}")
    found += [f"journal entry source {source!r} booked {times} times" for source, times in session.execute(
        select(JournalEntry.source, func.count()).group_by(JournalEntry.source).having(func.count() > 1))]
    for bill in session.scalars(select(RemittanceBill).where(RemittanceBill.status == "paid")):
        entry = session.get_one(JournalEntry, bill.entry_id)
        if (entry.amount, entry.detail_type) != (bill.amount, "01"):
            found.append(f"bill {bill.id} paid by entry {entry.id} of {entry.amount} ({entry.detail_type})")
    return found
