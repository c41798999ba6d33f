"""Issue 18's interest row: settling interest year 2026 for 100,000 members (100 employers of 1,000), each
with an opening balance and movements through the year (monthly deposits, some withdrawals, members
opened mid-year), in the stack's payment database; goal under 30 s, and every member's booked interest
equal to a reference computed here, in plain Python, by walking each member's balance segments.

``python -m bench.interest`` (under the stack's environment) loads the journal lines straight into the
database, times ``interest.settle`` and prints one JSON line; ``run(stack)`` runs it so.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from deploy.stack import ROOT, Stack

from .harness import Result, self_peak_mb

MEMBERS = 100_000
EMPLOYERS = 100
YEAR = 2026
RATE = Decimal("0.015")
DAY_BASIS = 360
GOAL_SECONDS = 30.0
NAME = f"interest settlement, {MEMBERS:,} members over one year"
PREFIX = "8"  # bench employers of this row: 8xxxxxxxx, apart from the demo's and the other rows'


def movements(seed: int = 18) -> dict[tuple[str, str], list[tuple[date, Decimal]]]:
    """Every member's postings: an opening balance before the year (most), a deposit each month, a
    withdrawal for one in ten, a few opened mid-year; deterministic."""
    rng = random.Random(seed)
    found: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
    per_employer = MEMBERS // EMPLOYERS
    for e in range(EMPLOYERS):
        employer_no = f"{PREFIX}{e + 1:08d}"
        for m in range(per_employer):
            member_no = f"{PREFIX}{e:04d}{m:05d}"
            posted: list[tuple[date, Decimal]] = []
            first_month = 7 if m % 20 else rng.randint(8, 12)  # one in twenty opened mid-year
            if first_month == 7:
                posted.append((date(YEAR - 1, 6, 30), Decimal(rng.randint(100_000, 9_000_000)) / 100))
            monthly = Decimal(rng.randint(20_000, 400_000)) / 100
            for month in range(first_month, 19):
                year, mon = (YEAR - 1, month) if month <= 12 else (YEAR, month - 12)
                posted.append((date(year, mon, rng.randint(1, 28)), monthly))
            if m % 10 == 3:
                posted.append((date(YEAR, rng.randint(1, 6), rng.randint(1, 28)), -monthly * 2))
            found[(employer_no, member_no)] = posted
    return found


def reference(posted: list[tuple[date, Decimal]]) -> Decimal:
    """Balance segments: each balance times the days it stood (算头不算尾), then x rate / basis, rounded once."""
    start, stop = date(YEAR - 1, 7, 1), date(YEAR, 7, 1)
    balance = sum((a for d, a in posted if d < start), Decimal(0))
    product, since = Decimal(0), start
    for day, amount in sorted((d, a) for d, a in posted if start <= d < stop):
        product += balance * (day - since).days
        balance, since = balance + amount, day
    product += balance * (stop - since).days
    return (product * RATE / DAY_BASIS).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def load(postings: dict[tuple[str, str], list[tuple[date, Decimal]]]) -> int:
    """The postings as journal entries (one per employer and day) with their lines and the balances,
    written in bulk; the number of lines."""
    from sqlalchemy import delete, insert

    from hall_common import db
    from hall_common.db import utcnow
    from services.payment.interest_models import InterestRun
    from services.payment.ledger import serial_no
    from services.payment.models import EmployerAccount, JournalEntry, JournalLine, MemberAccount

    session = db.session()
    session.execute(delete(InterestRun).where(InterestRun.year == YEAR))
    by_entry: dict[tuple[str, date], list[tuple[str, Decimal]]] = defaultdict(list)
    balances: dict[tuple[str, str], Decimal] = {}
    for (employer_no, member_no), posted in postings.items():
        balances[(employer_no, member_no)] = sum((a for _, a in posted), Decimal(0))
        for day, amount in posted:
            by_entry[(employer_no, day)].append((member_no, amount))
    now = utcnow()
    entries: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for entry_id, ((employer_no, day), members) in enumerate(sorted(by_entry.items()), start=1):
        total = sum((a for _, a in members), Decimal(0))
        entries.append({"id": entry_id, "serial_no": serial_no(entry_id, day), "employer_no": employer_no,
                        "booking_date": day, "detail_type": "01", "summary": "压测记账", "amount": total,
                        "interest": Decimal(0), "headcount": len(members), "source": f"bench:{entry_id}",
                        "created_at": now})
        rows += [{"entry_id": entry_id, "employer_no": employer_no, "member_no": m, "booking_date": day,
                  "detail_type": "01", "amount": a, "interest": Decimal(0)} for m, a in members]
    for start in range(0, len(entries), 5000):
        session.execute(insert(JournalEntry), entries[start:start + 5000])
    for start in range(0, len(rows), 20_000):
        session.execute(insert(JournalLine), rows[start:start + 20_000])
    employer_totals: dict[str, Decimal] = defaultdict(Decimal)
    for (employer_no, _), value in balances.items():
        employer_totals[employer_no] += value
    session.execute(insert(MemberAccount), [{"member_no": m, "employer_no": e, "balance": v}
                                            for (e, m), v in balances.items()])
    session.execute(insert(EmployerAccount), [{"employer_no": e, "balance": v, "unallocated": Decimal(0)}
                                              for e, v in employer_totals.items()])
    session.commit()
    return len(rows)


def measure() -> dict[str, Any]:
    """In the payment service's app context, under the stack's environment: load, settle, compare."""
    from sqlalchemy import select

    from hall_common import db
    from services.payment import create_app, interest
    from services.payment.models import JournalLine

    postings = movements()
    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        lines = load(postings)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        run = interest.settle(db.session(), YEAR, interest.Rates(RATE, RATE), DAY_BASIS, "bench",
                              date(YEAR, 7, 1))
        seconds = time.perf_counter() - started
        booked: dict[str, Decimal] = {member_no: value for member_no, value in db.session().execute(
            select(JournalLine.member_no, JournalLine.interest).where(
                JournalLine.detail_type == "09", JournalLine.booking_date == date(YEAR, 6, 30),
                JournalLine.employer_no.like(f"{PREFIX}%")))}
    wrong = [m for (_, m), posted in postings.items() if booked.get(m, Decimal(0)) != reference(posted)]
    return {"seconds": round(seconds, 2), "load_seconds": round(loaded, 1), "lines": lines, "status": run.status,
            "members_booked": len(booked), "members": len(postings), "wrong": len(wrong), "wrong_sample": wrong[:5],
            "peak_mb": self_peak_mb()}


def run(stack: Stack) -> list[Result]:
    done = subprocess.run([sys.executable, "-m", "bench.interest"], cwd=ROOT, env=stack.env(), check=True,
                          capture_output=True, text=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    exact = found["wrong"] == 0 and found["members_booked"] == found["members"]
    return [Result(name=NAME, unit="s", ours=found["seconds"], goal=f"< {GOAL_SECONDS:.0f} s, exact",
                   met=found["seconds"] < GOAL_SECONDS and exact and found["status"] == "done",
                   peak_mb=found["peak_mb"],
                   details={"summary": f"{found['lines']:,} journal lines; {found['members_booked']:,} members "
                                       f"booked, {found['wrong']} differ from the reference", **found})]


if __name__ == "__main__":
    print(json.dumps(measure(), default=str))
