"""100,000-row export: ``hall_common.sheets.xlsx_stream`` (xlsxwriter constant_memory into a temporary
file, read back in chunks as the response sends it) against openpyxl's write-only workbook saving the
same rows, each in its own process so each peak memory is its own. The rows (a journal's eight
columns: codes, Chinese text, dates, Decimal money) are built before the clock starts, identically.

``python -m bench.export`` runs this row alone (no stack needed) and prints it;
``python -m bench.export child ours|openpyxl N`` is one measured side, printing one JSON line.
The ratio is our seconds / the baseline's seconds: at most 1.0 means not slower than the raw library.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from typing import Any

from deploy.stack import Stack

from .harness import Result, run_json, self_peak_mb

ROWS = 100_000
NAME = "100,000-row export: xlsx_stream vs openpyxl write-only raw write"
GOAL = "ratio <= 1.0"


def _rows(count: int) -> list[dict[str, Any]]:
    return [{
        "member_no": f"{100000000000 + i}", "name": f"缴存人{i % 977}", "id_number": f"11010119900307{i % 10000:04d}",
        "date": date(2024, 1 + i % 12, 1 + i % 28), "summary": "汇缴" if i % 3 else "补缴",
        "debit": Decimal(i % 5000) + Decimal("0.25"), "credit": Decimal("0.00"), "balance": Decimal(i) + Decimal("0.5"),
    } for i in range(count)]


def _columns() -> tuple[Any, ...]:
    from hall_common.sheets import SheetColumn

    return (SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
            SheetColumn("id_number", "证件号码", "id"), SheetColumn("date", "记账日期", "date"),
            SheetColumn("summary", "摘要"), SheetColumn("debit", "发生额", "money"),
            SheetColumn("credit", "支取额", "money"), SheetColumn("balance", "余额", "money"))


def child(side: str, count: int) -> None:
    columns = _columns()
    rows = _rows(count)
    size = 0
    started = time.perf_counter()
    if side == "ours":
        from hall_common.sheets import xlsx_stream

        for chunk in xlsx_stream("明细账", columns, rows):
            size += len(chunk)
    else:
        from openpyxl import Workbook

        keys = [c.key for c in columns]
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("明细账")
        sheet.append([c.label for c in columns])
        for row in rows:
            sheet.append([row[k] for k in keys])
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        try:
            workbook.save(path)
            size = os.path.getsize(path)
        finally:
            os.unlink(path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_mb": self_peak_mb()}))


def run(_stack: Stack | None = None) -> list[Result]:
    argv = [sys.executable, "-m", "bench.export", "child"]
    baseline = run_json([*argv, "openpyxl", str(ROWS)])
    ours = run_json([*argv, "ours", str(ROWS)])
    ratio = ours["seconds"] / baseline["seconds"]
    return [Result(
        name=NAME, unit="s", ours=round(ours["seconds"], 3), baseline=round(baseline["seconds"], 3),
        baseline_name="openpyxl write-only raw write", ratio=round(ratio, 4), goal=GOAL, met=ratio <= 1.0,
        peak_mb=ours["peak_mb"], baseline_peak_mb=baseline["peak_mb"],
        details={"summary": f"ratio = our s / baseline s; {ROWS:,} rows x 8 columns; xlsx {ours['bytes']:,} B "
                            f"(openpyxl {baseline['bytes']:,} B); peaks include the rows built in memory"},
    )]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        from .__main__ import table

        print(table(run()))
