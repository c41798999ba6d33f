"""The columns of a sheet and the errors of its rows: what templates, uploads, exports and prints share."""

from __future__ import annotations

from dataclasses import dataclass

# A formula cell's value: NUL never occurs in sheet XML, so no typed text can look like this.
FORMULA = "\x00formula"
FORMULA_REASON = "单元格含有公式，请填写数值"
KINDS = frozenset({"text", "id", "date", "month", "money", "ratio", "choice", "code"})
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class SheetColumn:
    key: str
    label: str
    # text | id (resident ID) | date (YYYY-MM-DD) | month (YYYYMM) | money | ratio | choice | code (digits as text)
    kind: str = "text"
    choices: tuple[str, ...] = ()
    required: bool = True
    width: int = 16
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class RowError:
    row: int  # the Excel row number (header is row 1); 0 for a single entry
    field: str  # the column's label; "" for a whole-row reason
    reason: str

    def text(self) -> str:
        where = f"第{self.row}行" if self.row else ""
        if self.field:
            return f"{where} {self.field}：{self.reason}".strip()
        return f"{where}：{self.reason}" if where else self.reason


def sheet_title(title: str) -> str:
    cleaned = "".join(c for c in title if c not in "[]:*?/\\")
    return cleaned[:31] or "Sheet1"
