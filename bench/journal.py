"""单位业务流水 (7.3) at scale: one employer with 1,000,000 journal lines (100,000 entries of ten
members each, over about three years), in the payment service's own schema (its migrations, SQLite).

- The journal page: 300 pages as the 7.3 tab asks for them (the first pages, a detail type, a month's
  dates, a deep page), each through the query's own ``fetch`` and the rows made JSON as its route does;
  p99 < 50 ms.
- The 100,000-row journal export: every entry of the employer through the query's own ``iterate`` and
  ``xlsx_stream`` (reading the database included), against openpyxl's write-only workbook saving the
  same rows already in memory; at most 1.0 x the baseline's seconds.

Each side runs in its own process (``python -m bench.journal child setup|page|ours|openpyxl DIR``), the
database built once by ``setup``; ``python -m bench.journal`` runs both rows alone (no stack needed).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from deploy.stack import Stack

from .harness import Result, percentile, run_json, self_peak_mb

EMPLOYER = "100100001"
ENTRIES = 100_000
MEMBERS_PER_ENTRY = 10
FIRST_DAY = date(2023, 7, 1)
PAGES = 300
PER_PAGE = 20
TYPES = ("01", "02", "09", "99")
PAGE_NAME = "journal page over 1,000,000 journal lines of one employer"
EXPORT_NAME = "100,000-row journal export vs openpyxl write-only raw write"


def _app() -> Any:
    from services.payment import create_app

    return create_app({"TESTING": True})


def setup() -> None:
    """The payment schema by its migrations, then the rows written in bulk (the ledger's own inserts
    would take minutes for a million lines; the rows are the same shape)."""
    from hall_common import migrate
    from hall_common.settings import get_settings

    migrate.upgrade("payment")
    path = get_settings().database_url("payment").removeprefix("sqlite:///")
    started = time.perf_counter()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        entries, lines = [], []
        for i in range(1, ENTRIES + 1):
            day = (FIRST_DAY + timedelta(days=i // 90)).isoformat()
            kind = TYPES[i % 7 % 4]
            cents = [(i * 7 + m * 13) % 500_00 + 100 for m in range(MEMBERS_PER_ENTRY)]
            entries.append((i, f"{day.replace('-', '')}{i:010d}", EMPLOYER, day, kind, f"业务{kind} 第{i}笔",
                            sum(cents), 0, MEMBERS_PER_ENTRY, f"bench:{i}", day + " 10:00:00"))
            lines += [(i, EMPLOYER, f"9{(i * 3 + m) % 5000:09d}", day, kind, c, 0) for m, c in enumerate(cents)]
        connection.executemany("INSERT INTO journal_entries (id, serial_no, employer_no, booking_date, detail_type,"
                               " summary, amount, interest, headcount, source, created_at)"
                               " VALUES (?,?,?,?,?,?,?,?,?,?,?)", entries)
        connection.executemany("INSERT INTO journal_lines (entry_id, employer_no, member_no, booking_date, "
                               "detail_type, amount, interest) VALUES (?,?,?,?,?,?,?)", lines)
        connection.execute("ANALYZE")
    print(json.dumps({"entries": len(entries), "lines": len(lines), "seconds": time.perf_counter() - started}))


def _asks(rng: random.Random) -> list[dict[str, Any]]:
    """What the 7.3 tab asks: mostly the first pages, some by type or a month, a few deep pages."""
    last_day = FIRST_DAY + timedelta(days=ENTRIES // 90)
    asks = []
    for n in range(PAGES):
        start = FIRST_DAY + timedelta(days=rng.randrange((last_day - FIRST_DAY).days))
        choice = n % 10
        if choice < 5:
            asks.append({"filters": {}, "page": rng.randint(1, 20)})
        elif choice < 7:
            asks.append({"filters": {"detail_type": rng.choice(TYPES)}, "page": rng.randint(1, 10)})
        elif choice < 9:
            asks.append({"filters": {"start_date": start, "end_date": start + timedelta(days=30)},
                         "page": rng.randint(1, 3)})
        else:
            asks.append({"filters": {}, "page": rng.randint(100, 1000)})
    return asks


def page() -> None:
    from hall_common.queries import json_row
    from services.payment.queries import JOURNAL_COLUMNS, fetch_journal

    app = _app()
    timings = []
    with app.app_context():
        fetch_journal(EMPLOYER, {}, 1, PER_PAGE)  # the connection opened and the schema read once
        for ask in _asks(random.Random(18)):
            started = time.perf_counter()
            rows, total = fetch_journal(EMPLOYER, ask["filters"], ask["page"], PER_PAGE)
            body = json.dumps({"items": [json_row(r, JOURNAL_COLUMNS) for r in rows], "total": total},
                              ensure_ascii=False)
            timings.append((time.perf_counter() - started) * 1000)
            assert total > 0 and body
    print(json.dumps({"p50_ms": percentile(timings, 50), "p99_ms": percentile(timings, 99),
                      "max_ms": max(timings), "pages": len(timings), "peak_mb": self_peak_mb()}))


def ours() -> None:
    from hall_common.sheets import xlsx_stream
    from services.payment.queries import JOURNAL, JOURNAL_COLUMNS, iterate_journal

    app = _app()
    size = 0
    with app.app_context():
        started = time.perf_counter()
        for chunk in xlsx_stream(JOURNAL.title, JOURNAL_COLUMNS, iterate_journal(EMPLOYER, {})):
            size += len(chunk)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_mb": self_peak_mb()}))


def openpyxl() -> None:
    from openpyxl import Workbook

    from services.payment.queries import JOURNAL_COLUMNS, iterate_journal

    app = _app()
    with app.app_context():
        rows = list(iterate_journal(EMPLOYER, {}))  # read before the clock starts: the raw write alone
    keys = [c.key for c in JOURNAL_COLUMNS]
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("单位业务流水查询")
    sheet.append([c.label for c in JOURNAL_COLUMNS])
    for row in rows:
        sheet.append([row[k] for k in keys])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        size = os.path.getsize(path)
    finally:
        os.unlink(path)
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": size, "rows": len(rows),
                      "peak_mb": self_peak_mb()}))


def run(_stack: Stack | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="hall-bench-journal-") as directory:
        env = {**os.environ, "HALL_VAR_DIR": directory, "HALL_PAYMENT_DATABASE_URL": ""}

        def child(side: str) -> Any:
            return run_json([sys.executable, "-m", "bench.journal", "child", side], env=env)

        built = child("setup")
        pages = child("page")
        baseline = child("openpyxl")
        mine = child("ours")
    ratio = mine["seconds"] / baseline["seconds"]
    return [
        Result(name=PAGE_NAME, unit="ms", ours=round(pages["p99_ms"], 2), baseline_name="none", goal="p99 < 50 ms",
               met=pages["p99_ms"] < 50, peak_mb=pages["peak_mb"],
               details={"summary": f"p99 of {pages['pages']} pages of {PER_PAGE} (first pages, a type, a month, "
                                   f"deep pages; fetch + JSON in process); p50 {pages['p50_ms']:.2f} ms, max "
                                   f"{pages['max_ms']:.2f} ms; {built['lines']:,} lines in {built['entries']:,} "
                                   "entries"}),
        Result(name=EXPORT_NAME, unit="s", ours=round(mine["seconds"], 3), baseline=round(baseline["seconds"], 3),
               baseline_name="openpyxl write-only raw write", ratio=round(ratio, 4), goal="ratio <= 1.0",
               met=ratio <= 1.0, peak_mb=mine["peak_mb"], baseline_peak_mb=baseline["peak_mb"],
               details={"summary": f"ratio = our s / baseline s; ours reads the {baseline['rows']:,} entries from "
                                   f"the database as it writes, the baseline has them in memory; xlsx "
                                   f"{mine['bytes']:,} B (openpyxl {baseline['bytes']:,} B)"}),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        {"setup": setup, "page": page, "ours": ours, "openpyxl": openpyxl}[sys.argv[2]]()
    else:
        from .__main__ import table

        print(table(run()))
