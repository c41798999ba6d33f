"""The demo's money (make run only, besides the opening balances every seed books): a history from
July 2025 to the month before today for the demo employer, booked through the same functions the
service uses (bills.make_bill, receipts.store, ledger.book), so its journal, bills, receipts and
unallocated amount are what real business would have left and the invariant holds throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from .bills import make_bill
from .ledger import Line, book
from .receipts import store

OPENING_DAY = date(2025, 6, 30)  # the day before the demo's first interest year
FIRST_MONTH = date(2025, 7, 1)
OTHER = "99"
EXTRA = Decimal("20000.00")  # left unallocated in the last month, for the 补缴 demos
POSTER = "demo-bank"


def book_openings(session: Session, employer_no: str, balances: Sequence[tuple[str, Decimal]]) -> bool:
    """Each member's opening balance as one type 99 期初余额 entry (once per employer); False if booked before."""
    lines = [Line(member_no, amount) for member_no, amount in balances]
    if not lines:
        return False
    _, booked_now = book(session, employer_no=employer_no, detail_type=OTHER, summary="期初余额",
                         booking_date=OPENING_DAY, source=f"opening:{employer_no}", lines=lines)
    return booked_now


def months(first: date, until: date) -> list[date]:
    """The first days of the months from ``first`` to the month before ``until``."""
    result, month = [], first
    while (month.year, month.month) < (until.year, until.month):
        result.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return result


def seed_history(session: Session, employer_no: str, monthly: Sequence[tuple[str, str, Decimal]],
                 today: date) -> int:
    """Each month from July 2025 to the month before ``today``: the bill of the members whose terms had
    begun (``monthly``: member_no, first month YYYYMM, monthly amount), the bank's receipt of exactly its
    amount on the 15th, which pays it; in the last month one more receipt of 20,000.00 that no bill
    takes (the unallocated amount). Idempotent (every step is once by its unique key); the caller
    commits. Returns how many months were billed now."""
    made = 0
    history = months(FIRST_MONTH, today)
    for month in history:
        lines = [(m, amount) for m, first, amount in monthly if first <= f"{month:%Y%m}"]
        bill, now = make_bill(session, employer_no, month, lines)
        made += now
        if bill is None:
            continue
        received = month.replace(day=15)
        store(session, POSTER, {"bank_reference": f"DEMO-{employer_no}-{month:%Y%m}", "employer_no": employer_no,
                                "amount": bill.amount, "received_on": received, "memo": f"{month:%Y年%m月}汇缴款"},
              received)
    if history:
        last = history[-1]
        received = last.replace(day=20)
        store(session, POSTER, {"bank_reference": f"DEMO-{employer_no}-{last:%Y%m}-X", "employer_no": employer_no,
                                "amount": EXTRA, "received_on": received, "memo": "预缴款"}, received)
    return made
