"""Issue 16's rows: the 100,000-row registration import and the member type-ahead.

- Import: ``hall_common.roster_imports.run`` on a 100,000-row registration workbook (read with
  python-calamine, every row checked, staged into the roster: the heavy worker's whole job) against
  openpyxl's own read-only read of the same file, each in its own process so each peak memory is its
  own. The ratio is our seconds / openpyxl's: the goal is at most 0.4.
- Search: the member field's type-ahead through the member service's API over 100,000 members of one
  employer (seeded straight into its database), by name, ID number and member number prefixes.

``python -m bench.members import`` runs the import row alone (no stack needed).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

import httpx

from deploy.stack import Stack

from .harness import Result, percentile, run_json, run_setup, self_peak_mb, stack_peaks

ROWS = 100_000
MEMBERS = 100_000
SEARCHES = 300
IMPORT_NAME = "100,000-row registration import: parse, validate, stage"
SEARCH_NAME = "member type-ahead search over 100,000 members of one employer (member API)"


def _workbook(path: str, count: int) -> None:
    """The registration template's columns, filled as an operator would (distinct valid IDs)."""
    import xlsxwriter
    from stdnum.cn import ric

    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("缴存人登记")
    sheet.write_row(0, 0, ["姓名", "证件类型", "证件号码", "缴存基数", "首次缴存年月", "手机号码"])
    for i in range(count):
        body = f"130102{date(1960, 1, 1) + timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
        sheet.write_row(i + 1, 0, [f"职工{i}", "居民身份证", body + ric.calc_check_digit(body + "0"),
                                   f"{3000 + i % 5000}.50", "202612", f"139{i:08d}"])
    book.close()


def child(side: str, path: str) -> None:
    if side == "openpyxl":
        from openpyxl import load_workbook

        started = time.perf_counter()
        book = load_workbook(path, read_only=True)
        rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": self_peak_mb()}))
        return
    os.environ["HALL_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-import-")
    from hall_common import db, migrate, roster_imports

    migrate.upgrade("member")
    import services.member
    from services.member.businesses import BOOK

    app = services.member.create_app()
    with open(path, "rb") as handle:
        content = handle.read()
    with app.app_context():
        record = BOOK.models.import_(employer_no="100100001", business_type="member_registration", option="12",
                                     file_name="bench.xlsx", content=content, created_by="bench")
        db.session().add(record)
        db.session().commit()
        started = time.perf_counter()
        roster_imports.run(BOOK, record.id)
        seconds = time.perf_counter() - started
        done = db.session().get(BOOK.models.import_, record.id, populate_existing=True)
        assert done is not None
        print(json.dumps({"seconds": seconds, "rows": done.good, "status": done.status, "peak_mb": self_peak_mb()}))


def run_import(_stack: Stack | None = None) -> list[Result]:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        _workbook(path, ROWS)
        argv = [sys.executable, "-m", "bench.members", "child"]
        baseline = run_json([*argv, "openpyxl", path])
        ours = run_json([*argv, "ours", path])
        size = os.path.getsize(path)
    finally:
        os.unlink(path)
    assert ours["status"] == "added" and ours["rows"] == ROWS == baseline["rows"], (ours, baseline)
    ratio = ours["seconds"] / baseline["seconds"]
    return [Result(
        name=IMPORT_NAME, unit="s", ours=round(ours["seconds"], 3), baseline=round(baseline["seconds"], 3),
        baseline_name="openpyxl read-only raw read", ratio=round(ratio, 4), goal="ratio <= 0.4", met=ratio <= 0.4,
        peak_mb=ours["peak_mb"], baseline_peak_mb=baseline["peak_mb"],
        details={"summary": f"ratio = our s / baseline s; {ROWS:,} rows x 6 columns, {size:,} B; ours reads, "
                            "checks every row (ID check character and birth date, amounts, months, duplicates, "
                            "open accounts) and stages them in SQLite"},
    )]


def run_search(stack: Stack) -> list[Result]:
    creds: dict[str, Any] = run_setup(stack, "employers", "1")
    employer_no, token = next(iter(creds["tokens"].items()))
    seeded = run_setup(stack, "members", employer_no, str(MEMBERS))
    url = f"{stack.url('member')}/employers/{employer_no}/members/search"
    # What operators type: a surname, a surname and a given name, an ID's first digits, a member number.
    queries = ["王", "李伟", "张芳娜", "1301", "130102196", f"{employer_no}0123", "05678", "刘"]
    times: list[float] = []
    with stack_peaks(stack).measure() as memory, httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for n in range(SEARCHES + 20):
            text = queries[n % len(queries)]
            started = time.perf_counter()
            response = client.get(url, params={"q": text})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:300]
            if n >= 20:  # the first few warm the connection and the database's cache
                times.append(elapsed * 1000)
    p99 = percentile(times, 99)
    return [Result(
        name=SEARCH_NAME, unit="ms p99", ours=round(p99, 2), goal="p99 < 50 ms", met=p99 < 50,
        peak_mb=memory["peak_mb"],
        details={"summary": f"p50 {percentile(times, 50):.2f} ms, p99 {p99:.2f} ms over {SEARCHES} searches "
                            f"({', '.join(queries)}); {MEMBERS:,} members seeded in {seeded['seeded_seconds']} s"},
    )]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    else:
        from .__main__ import table

        print(table(run_import()))
