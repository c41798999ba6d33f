"""Spreadsheets in and out: import templates, reading an upload, the marked copy, streamed exports.

- ``build_template``: the blank template an operator downloads (openpyxl: dropdowns, text columns).
- ``read_upload``: an uploaded template's rows, normalised once here (python-calamine, ~10x openpyxl),
  after ``sheet_files.inspect`` refused what is not a sound xlsx. The row checks are the caller's.
- ``marked_workbook``: the upload with each bad cell red, the reason as a comment and a 错误原因 column.
- ``xlsx_stream``: a query's rows as xlsx (xlsxwriter constant_memory into a temporary file, then
  streamed in chunks), never the whole workbook in memory.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from itertools import compress, repeat
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineError, CalamineWorkbook

from .sheet_columns import FORMULA, FORMULA_REASON, KINDS, XLSX_MIMETYPE, RowError, SheetColumn, sheet_title
from .sheet_export import safe_text, xlsx_stream
from .sheet_files import BROKEN, INSTRUCTION_SHEETS, ImportRefused, inspect

__all__ = ["FORMULA", "FORMULA_REASON", "KINDS", "XLSX_MIMETYPE", "ImportRefused", "RowError", "SheetColumn",
           "build_template", "marked_workbook", "read_upload", "safe_text", "xlsx_stream"]

TEXT_FORMAT_KINDS = frozenset({"id", "date", "month", "code"})
TEMPLATE_ROWS = 10_000
INSTRUCTIONS_SHEET = "填写说明"
ERRORS_SHEET = "错误说明"
ERROR_COLUMN = "错误原因"
DEFAULT_MAX_RATIO = 100
_EXCEL_EPOCH = date(1899, 12, 30)
_nfkc = partial(unicodedata.normalize, "NFKC")
# Characters NFKC leaves as they are, whatever their neighbours: printable ASCII and the CJK Unified
# Ideographs (no decomposition, no composition, combining class 0).
_NFKC_STABLE = re.compile("[\x20-\x7e\u4e00-\u9fff]*")
_LAST_SERIAL = 2958465  # 9999-12-31
_NO_FACTS: Mapping[str, str] = MappingProxyType({})


# -- the template ------------------------------------------------------------------------------------

def build_template(title: str, columns: Sequence[SheetColumn], instructions: Sequence[str] = (),
                   fixed: Mapping[str, str] = _NO_FACTS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_title(title)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.label)
        cell.font, cell.fill = bold, header_fill
        cell.alignment = Alignment(horizontal="center")
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.kind in TEXT_FORMAT_KINDS:
            # A column style: Excel gives it to every cell typed there, so IDs keep their 18 digits.
            dimension.number_format = "@"
        if column.kind == "choice" and column.choices:
            sheet.add_data_validation(_dropdown(workbook, column, f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"))
    sheet.freeze_panes = "A2"
    _instruction_sheet(workbook, title, columns, instructions, fixed)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _dropdown(workbook: Workbook, column: SheetColumn, cells: str) -> DataValidation:
    listed = ",".join(column.choices)
    if len(listed) <= 250 and "," not in "".join(column.choices) and '"' not in listed:
        formula = f'"{listed}"'
    else:  # Excel caps an inline list at 255 characters: long lists live on a hidden sheet
        options = workbook.create_sheet(sheet_title(f"选项{len(workbook.sheetnames)}"))
        options.sheet_state = "hidden"
        for row, choice in enumerate(column.choices, start=1):
            options.cell(row=row, column=1, value=choice)
        formula = f"'{options.title}'!$A$1:$A${len(column.choices)}"
    validation = DataValidation(type="list", formula1=formula, allow_blank=not column.required)
    validation.error, validation.errorTitle = f"请从下拉列表中选择{column.label}", "输入有误"
    validation.prompt, validation.promptTitle = f"请从下拉列表中选择{column.label}", column.label
    validation.showErrorMessage = validation.showInputMessage = True
    validation.add(cells)
    return validation


def _instruction_sheet(workbook: Workbook, title: str, columns: Sequence[SheetColumn], instructions: Sequence[str],
                       fixed: Mapping[str, str]) -> None:
    sheet = workbook.create_sheet(INSTRUCTIONS_SHEET, 1)
    bold = Font(bold=True)
    sheet.append([f"{title} 填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in instructions:
        sheet.append([line])
    if fixed:
        sheet.append([])
        for name, value in fixed.items():
            sheet.append([f"{name}：{value}"])
    sheet.append([])
    sheet.append(["列名", "是否必填", "填写要求"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for column in columns:
        note = column.note
        if column.kind == "choice" and column.choices:
            note = f"{note}（可选：{'、'.join(column.choices)}）" if note else f"可选：{'、'.join(column.choices)}"
        sheet.append([column.label, "必填" if column.required else "选填", note])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 80


# -- reading an upload -------------------------------------------------------------------------------

def read_upload(data: bytes, columns: Sequence[SheetColumn], *, max_bytes: int, max_rows: int,
                max_columns: int = 50, max_unpacked_bytes: int | None = None,
                max_ratio: int = DEFAULT_MAX_RATIO) -> list[tuple[int, dict[str, str]]]:
    """(Excel row number, {key: normalised text}) of every non-blank data row, in sheet order.
    ``max_unpacked_bytes`` (default 30 x max_bytes) bounds the inflated size of the whole file."""
    checked = inspect(data, max_bytes=max_bytes, max_ratio=max_ratio, max_rows=max_rows, max_columns=max_columns,
                      max_unpacked_bytes=max_unpacked_bytes or 30 * max_bytes)
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            sheet = workbook.get_sheet_by_name(checked.sheet_name)
            if sheet.width > max_columns:
                raise ImportRefused(f"文件列数超过{max_columns}列，请使用下载的模板填写")
            cells = sheet.to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise ImportRefused(BROKEN) from exc
    _check_header(cells[0] if cells else [], columns)
    keys = [c.key for c in columns]
    width = len(columns)
    body = cells[1:]
    if body and min(map(len, body)) < width:
        body = [row if len(row) >= width else [*row, *([""] * (width - len(row)))] for row in body]
    # Column by column: a column of text cells is normalised by C-level maps, not a call per cell.
    normalised = [_normalise_column(c.kind, list(map(itemgetter(i), body))) for i, c in enumerate(columns)]
    for row, col in checked.formulas:
        if 0 < row <= len(body) and col < width:
            normalised[col][row - 1] = FORMULA
    rows = list(zip(*normalised, strict=True)) if body else []
    filled = list(map(any, rows))
    count = sum(filled)
    if count > max_rows:
        raise ImportRefused(f"数据超过{max_rows}行，请拆分后分批导入")
    if not count:
        raise ImportRefused("文件中没有数据，请从第2行起填写后上传")
    numbers: Iterable[int] = range(2, len(rows) + 2)
    if count < len(rows):  # blank rows are skipped, their numbers too
        numbers, rows = compress(numbers, filled), list(compress(rows, filled))
    return list(zip(numbers, map(dict, map(zip, repeat(keys), rows)), strict=False))


def _normalise_column(kind: str, values: list[Any]) -> list[str]:
    """``[_NORMALISERS[kind](v) for v in values]``, faster when every cell is text (the usual template):
    NFKC leaves ASCII as it is, so one formula serves ASCII and other text alike, and a column of
    printable ASCII and common CJK ideographs only (no NFKC mapping, no composition) skips it."""
    if set(map(type, values)) - {str}:
        return list(map(_NORMALISERS[kind], values))
    joined = "".join(values)
    stable = _NFKC_STABLE.fullmatch(joined) is not None
    if kind in ("text", "choice"):
        return list(map(str.strip, values if stable else map(_nfkc, values)))
    # Nothing to remove when no space is there (no other whitespace is in the stable set).
    compacted = (list(values) if stable and " " not in joined
                 else list(map("".join, map(str.split, map(_nfkc, values)))))
    return list(map(str.upper, compacted)) if kind == "id" else compacted


def _check_header(found: Sequence[Any], columns: Sequence[SheetColumn]) -> None:
    labels = [c.label for c in columns]
    header = [_text(v) for v in found]
    if header[: len(labels)] == labels:
        return
    while header and not header[-1]:
        header.pop()
    shown = "、".join((h[:20] or "（空）") for h in header[: len(labels) + 3]) or "空行"
    raise ImportRefused(f"模板不正确：第1行应为 {'、'.join(labels)}，实际为 {shown}（请使用下载的模板）")


def _number(value: float) -> str:
    if value.is_integer():
        # An 18-digit ID typed as a number has lost its last digits: keep what is left, the check says so.
        return str(int(value))
    text = repr(value)
    return format(Decimal(text), "f") if "e" in text or "E" in text else text


def _other(value: Any) -> str:
    """A cell that is not text: how a person would have typed it."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | int):
        return _number(float(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return _text(str(value))


def _text(value: Any) -> str:
    if type(value) is str:
        if value.isascii():
            return value.strip()
        return unicodedata.normalize("NFKC", value).strip()
    return _other(value)


def _compact(value: Any) -> str:
    """Codes, numbers and dates: no space anywhere (a pasted ID often carries some)."""
    if type(value) is str:
        if value.isascii():
            if value.isalnum():  # the common case, an ID or a code: nothing to remove
                return value
        else:
            value = unicodedata.normalize("NFKC", value)
        return "".join(value.split())
    return _other(value)


def _id(value: Any) -> str:
    return _compact(value).upper()


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float | int) and not isinstance(value, bool) and 1 <= value <= _LAST_SERIAL:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    return None


def _date(value: Any) -> str:
    if type(value) is str:
        return _compact(value)
    found = _as_date(value)
    return found.isoformat() if found else _compact(value)


def _month(value: Any) -> str:
    if type(value) is str:
        return _compact(value)
    if isinstance(value, float) and value.is_integer() and 190001 <= value <= 999912 and 1 <= value % 100 <= 12:
        return str(int(value))  # 202401 typed as a number is a month, not a serial in the year 2454
    found = _as_date(value)
    return f"{found.year:04d}{found.month:02d}" if found else _compact(value)


_NORMALISERS: dict[str, Callable[[Any], str]] = {
    "text": _text, "choice": _text, "id": _id, "code": _compact, "money": _compact, "ratio": _compact,
    "date": _date, "month": _month,
}


# -- the marked copy ---------------------------------------------------------------------------------

def marked_workbook(data: bytes, columns: Sequence[SheetColumn], errors: Sequence[RowError]) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    sheet = next((s for s in workbook.worksheets if s.title not in INSTRUCTION_SHEETS), workbook.worksheets[0])
    for name in [n for n in workbook.sheetnames if n == ERRORS_SHEET]:
        del workbook[name]
    positions = {c.label: i for i, c in enumerate(columns, start=1)}
    reason_column = max(sheet.max_column, len(columns)) + 1
    if sheet.cell(row=1, column=reason_column - 1).value == ERROR_COLUMN:
        reason_column -= 1  # a marked copy uploaded again: its old reasons are replaced
        for row in range(2, sheet.max_row + 1):
            sheet.cell(row=row, column=reason_column).value = None
    header = sheet.cell(row=1, column=reason_column, value=ERROR_COLUMN)
    header.font = Font(bold=True, color="C00000")
    sheet.column_dimensions[get_column_letter(reason_column)].width = 50
    red = PatternFill("solid", fgColor="FFC7CE")
    by_cell: dict[tuple[int, int], list[str]] = {}
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(f"{error.field}：{error.reason}" if error.field else error.reason)
        column = positions.get(error.field)
        if column is not None and error.row > 1:
            by_cell.setdefault((error.row, column), []).append(error.reason)
    for (row, column), reasons in by_cell.items():
        cell = sheet.cell(row=row, column=column)
        cell.fill = red
        cell.comment = Comment("；".join(reasons), "系统校验", width=240, height=80)
    for row, reasons in by_row.items():
        if row > 1:
            sheet.cell(row=row, column=reason_column, value="；".join(reasons)).font = Font(color="C00000")
    listing = workbook.create_sheet(ERRORS_SHEET)
    listing.append(["行号", "列名", ERROR_COLUMN])
    for cell in listing[1]:
        cell.font = Font(bold=True)
    for error in sorted(errors, key=lambda e: (e.row, positions.get(e.field, 0))):
        listing.append([error.row, error.field, error.reason])
    listing.column_dimensions["B"].width = 16
    listing.column_dimensions["C"].width = 60
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
