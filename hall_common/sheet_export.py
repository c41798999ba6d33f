"""A query's rows as xlsx, streamed: xlsxwriter in constant_memory mode writes one row at a time into
a temporary file, which is then sent in chunks, so no export holds its workbook in memory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter

from .sheet_columns import SheetColumn, sheet_title

CHUNK_BYTES = 64 * 1024

_INJECTION_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text a spreadsheet must not run: a leading ' keeps =, +, -, @, tab and CR from starting a formula."""
    return "'" + text if text.startswith(_INJECTION_STARTS) else text


def xlsx_stream(title: str, columns: Sequence[SheetColumn],
                rows: Iterable[Mapping[str, Any]]) -> Generator[bytes, None, None]:
    """The workbook is written row by row to a temporary file (xlsxwriter keeps one row in memory),
    then sent in chunks; the file is gone when the stream ends or is closed."""
    handle, path = tempfile.mkstemp(prefix="hall-export-", suffix=".xlsx")
    os.close(handle)
    try:
        _write_export(path, title, columns, rows)
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                yield chunk
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _write_export(path: str, title: str, columns: Sequence[SheetColumn], rows: Iterable[Mapping[str, Any]]) -> None:
    workbook = xlsxwriter.Workbook(path, {
        "constant_memory": True, "tmpdir": os.path.dirname(path),
        # Text stays text: no formula, number or link is made of what a user typed.
        "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
    })
    try:
        sheet = workbook.add_worksheet(sheet_title(title))
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "align": "center"})
        money = workbook.add_format({"num_format": "0.00"})
        for index, column in enumerate(columns):
            sheet.set_column(index, index, column.width)
            sheet.write_string(0, index, column.label, header)
        sheet.freeze_panes(1, 0)
        keys = [c.key for c in columns]
        text_columns = {i for i, c in enumerate(columns) if c.kind in ("id", "code", "text", "choice")}
        write_string, write_number = sheet.write_string, sheet.write_number
        row_number = 0
        for row in rows:
            row_number += 1
            for index, key in enumerate(keys):
                value = row.get(key)
                if value is None or value == "":
                    continue
                if type(value) is str:
                    write_string(row_number, index, safe_text(value))
                elif isinstance(value, Decimal):
                    write_number(row_number, index, float(value), money)
                elif isinstance(value, int | float) and not isinstance(value, bool) and index not in text_columns:
                    write_number(row_number, index, value)
                else:
                    write_string(row_number, index, safe_text(_export_text(value)))
    finally:
        workbook.close()


def _export_text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
