"""What an uploaded file is, decided from its bytes before any spreadsheet library parses it.

An upload is refused as a whole (``ImportRefused``, 422, a Chinese message the operator can act on)
when it is empty or too large, not an xlsx (an old .xls, a CSV, a renamed text or another zip), an
encrypted workbook (Excel wraps those in an OLE2 container), a broken zip, or a zip bomb: the declared
uncompressed sizes and each member's compression ratio are bounded before anything is inflated, and
every member is then read once through ``zipfile`` within its declared size, whose CRC check catches a
member that declares less than it holds.

Formulas: calamine returns only a formula's cached value (often empty, or stale), so the cells
holding one are found in the worksheet XML; the XML is parsed only when it contains ``<f``.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from xml.etree import ElementTree

from .errors import BusinessError

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Excel's encrypted OOXML: an OLE2 container holding these streams (directory names are UTF-16LE).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
MAX_MEMBERS = 1000
# Members this small cannot make a bomb whatever their ratio (styles compress very well).
RATIO_FLOOR_BYTES = 1024 * 1024
SMALL_PART_BYTES = 1024 * 1024
INSTRUCTION_SHEETS = frozenset({"填写说明", "错误说明"})

NOT_XLSX = "文件不是有效的xlsx格式（请使用下载的模板，另存为Excel工作簿 .xlsx）"
ENCRYPTED = "文件已加密，请取消密码保护后上传"
BROKEN = "文件已损坏，无法读取（请重新另存为Excel工作簿 .xlsx 后上传）"
BOMB = "文件内容异常（压缩数据过大），已拒绝"
EMPTY = "文件为空，请选择填写好的模板文件"

_REF = re.compile(r"([A-Z]+)(\d+)")


class ImportRefused(BusinessError):
    """The whole file is refused: nothing of it is read or stored."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message, status)


@dataclass(frozen=True)
class Workbook:
    """The checked upload: the sheet to read (by name) and its formula cells (0-based row, column)."""

    sheet_name: str
    formulas: frozenset[tuple[int, int]]


def size_text(limit: int) -> str:
    """A byte limit as people say it: 10MB, 512KB."""
    mb, kb = 1024 * 1024, 1024
    if limit >= mb:
        return f"{limit / mb:g}MB"
    if limit >= kb:
        return f"{limit / kb:g}KB"
    return f"{limit}字节"


def inspect(data: bytes, *, max_bytes: int, max_unpacked_bytes: int, max_ratio: int, max_rows: int,
            max_columns: int) -> Workbook:
    """Refuse what is not a plain, sound, reasonably sized xlsx; name its data sheet and formula cells."""
    if not data:
        raise ImportRefused(EMPTY)
    if len(data) > max_bytes:
        raise ImportRefused(f"文件超过{size_text(max_bytes)}，请拆分后分批导入")
    if data.startswith(OLE2_MAGIC):
        raise ImportRefused(ENCRYPTED if ENCRYPTED_STREAM in data else NOT_XLSX)
    if not data.startswith(ZIP_MAGIC):
        raise ImportRefused(NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ImportRefused(BROKEN) from exc
    with archive:
        _check_sizes(archive.infolist(), max_unpacked_bytes, max_ratio)
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise ImportRefused(NOT_XLSX)
        try:
            sheet_name, sheet_path = _data_sheet(archive, names)
            if sheet_path is None:
                raise ImportRefused(NOT_XLSX)
            sheet_xml = _verify_members(archive, sheet_path)
            check_extent(sheet_xml, row_limit(max_rows), max_columns)
            formulas = formula_cells(sheet_xml)
        except (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, KeyError, ValueError, EOFError,
                OSError, NotImplementedError) as exc:
            raise ImportRefused(BROKEN) from exc
    return Workbook(sheet_name, formulas)


def _check_sizes(members: list[zipfile.ZipInfo], max_unpacked_bytes: int, max_ratio: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(BOMB)
    if any(m.flag_bits & 0x1 for m in members):  # a password-protected zip
        raise ImportRefused(ENCRYPTED)
    if sum(m.file_size for m in members) > max_unpacked_bytes:
        raise ImportRefused(BOMB)
    for member in members:
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > max_ratio * max(member.compress_size, 1):
            raise ImportRefused(BOMB)


def _verify_members(archive: zipfile.ZipFile, sheet_path: str | None) -> bytes:
    """Inflate every member within its declared size: zipfile stops there and the CRC then fails for a
    member that declared less than it holds, so the parser after us never inflates more than checked.
    Returns the data sheet's XML (read in the same pass)."""
    sheet = b""
    for member in archive.infolist():
        if member.filename == sheet_path:
            sheet = archive.read(member)
            continue
        with archive.open(member) as stream:
            while stream.read(1 << 20):
                pass
    return sheet


def row_limit(max_rows: int) -> int:
    """The last sheet row allowed: the header, the data rows and some blank rows between them."""
    return max_rows + 1 + max(1000, max_rows // 2)


def check_extent(sheet_xml: bytes, max_row: int, max_column: int) -> None:
    """Refuse a sheet reaching beyond max_row or max_column before calamine reads it: calamine holds a
    sheet as a dense grid from its first cell to its last, so a tiny file with a cell at XFD1048576
    would make it allocate 17 billion cells and abort the process.

    Fast path (Excel, WPS, LibreOffice, openpyxl, xlsxwriter): every cell tag starts ``<c r="``, counted
    on tags (a ``<`` never occurs in text), and one regex search finds any reference beyond the limits.
    Anything else (prefixed tags, cells without a reference, placed by position) is walked exactly."""
    head = sheet_xml[:1000]
    start, end = sheet_xml.find(b"<sheetData"), sheet_xml.rfind(b"</sheetData>")
    # Inside sheetData only cells' tags and rich-text run properties (<color>, <charset>) start "<c":
    # a run property only sends the file down the exact path.
    if b"<worksheet" in head and start >= 0 and end >= 0:
        # One pass finds the first tag that is either beyond the limits or not "<c r=" (the counts
        # below, and their search, made three passes over a 40 MB sheet).
        found = _extent_pattern(max_row, max_column).search(sheet_xml, start, end)
        fast = found is None or (found.group("other") is None and _OTHER_C.search(sheet_xml, found.end(), end) is None)
        too_wide = found is not None and found.group("wide") is not None
        too_long = found is not None and not too_wide
    else:
        fast = b"<worksheet" in head and sheet_xml.count(b"<c", start, end) == sheet_xml.count(b'<c r="', start, end)
        if fast:
            beyond = _beyond_pattern(max_row, max_column).search(sheet_xml, start, end)
            too_wide = beyond is not None and beyond.group(1) is not None
            too_long = beyond is not None and not too_wide
    if not fast:
        last_row, last_column = _walk_extent(sheet_xml)
        too_wide, too_long = last_column + 1 > max_column, last_row + 1 > max_row
    if too_wide:
        raise ImportRefused(f"文件列数超过{max_column}列，请使用下载的模板填写")
    if too_long:
        raise ImportRefused(f"文件行数超过{max_row}行，请删除多余的空行或拆分后分批导入")


@lru_cache(maxsize=32)
def _beyond_pattern(max_row: int, max_column: int) -> re.Pattern[bytes]:
    """A cell reference beyond the last column (group 1) or beyond the last row."""
    letters = _greater_than(_column_letters(max_column), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    digits = _greater_than(str(max_row), "0123456789")
    return re.compile(f'<c r="(?:((?:{letters})[0-9])|[A-Z]+0*(?:{digits})")'.encode())


@lru_cache(maxsize=32)
def _extent_pattern(max_row: int, max_column: int) -> re.Pattern[bytes]:
    """``_beyond_pattern`` (its column group named ``wide``), or a tag "<c" not followed by ' r="'
    (``other``)."""
    letters = _greater_than(_column_letters(max_column), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    digits = _greater_than(str(max_row), "0123456789")
    return re.compile(f'<c(?: r="(?:(?P<wide>(?:{letters})[0-9])|[A-Z]+0*(?:{digits})")|(?P<other>(?! r=")))'
                      .encode())


_OTHER_C = re.compile(b'<c(?! r=")')


def _greater_than(limit: str, alphabet: str) -> str:
    """A regex matching the strings over ``alphabet`` (no leading zero digit) that stand for a number
    above ``limit``: more places, or as many and larger at the first difference."""
    first = alphabet[1:] if alphabet[0] == "0" else alphabet
    any_of = f"[{re.escape(alphabet)}]"
    options = [f"[{re.escape(first)}]{any_of}{{{len(limit)},}}"]
    for index, char in enumerate(limit):
        higher = alphabet[alphabet.index(char) + 1:]
        if higher:
            rest = len(limit) - index - 1
            options.append(f"{re.escape(limit[:index])}[{re.escape(higher)}]{any_of}{{{rest}}}")
    return "|".join(options)


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _walk_extent(sheet_xml: bytes) -> tuple[int, int]:
    """The last (0-based) row and column holding a cell, placed as calamine places them."""
    last_row = last_column = -1
    for row, col, _ in _cells(sheet_xml):
        last_row, last_column = max(last_row, row), max(last_column, col)
    return last_row, last_column


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _data_sheet(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, str | None]:
    """The first worksheet that is not an instruction sheet, and its part's path."""
    for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if part in names and archive.getinfo(part).file_size > SMALL_PART_BYTES:
            raise ImportRefused(BOMB)  # a list of sheets is a few KB; these are parsed whole
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = [(e.get("name") or "", _rel_id(e)) for e in workbook.iter() if _local(e.tag) == "sheet"]
    if not sheets:
        raise ImportRefused(NOT_XLSX)
    name, rel_id = next(((n, r) for n, r in sheets if n not in INSTRUCTION_SHEETS), sheets[0])
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {e.get("Id") or "": e.get("Target") or "" for e in rels.iter() if _local(e.tag) == "Relationship"}
    target = targets.get(rel_id or "", "")
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return name, (path if target and path in names else None)


def _rel_id(element: ElementTree.Element) -> str | None:
    return next((v for k, v in element.attrib.items() if _local(k) == "id"), None)


def formula_cells(sheet_xml: bytes) -> frozenset[tuple[int, int]]:
    """(0-based row, 0-based column) of every cell holding a formula (shared formulas included)."""
    if not _may_hold_formulas(sheet_xml):
        return frozenset()
    return frozenset((row, col) for row, col, formula in _cells(sheet_xml) if formula)


def _may_hold_formulas(sheet_xml: bytes) -> bool:
    """Whether "<f" or ":f" (a prefixed <x:f>) occurs. A sheet's XML holds few "f" bytes (UTF-8 text
    never makes one from other characters): each is looked at, which is quicker than two scans of a
    40 MB sheet for those pairs; a sheet full of them is scanned."""
    if sheet_xml.count(b"f") > 10_000:
        return b"<f" in sheet_xml or b":f" in sheet_xml
    at = sheet_xml.find(b"f", 1)
    while at != -1:
        if sheet_xml[at - 1] in b"<:":
            return True
        at = sheet_xml.find(b"f", at + 1)
    return False


def _cells(sheet_xml: bytes) -> Iterator[tuple[int, int, bool]]:
    """Every cell's (0-based row, 0-based column, holds a formula); a row or cell without its reference
    follows the previous one, as Excel and calamine read it."""
    row, col = -1, -1
    for event, element in ElementTree.iterparse(io.BytesIO(sheet_xml), events=("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name == "row":
                r = element.get("r")
                row, col = (int(r) - 1 if r and r.isdigit() else row + 1), -1
            elif name == "c":
                ref = _REF.fullmatch(element.get("r") or "")
                col = _column_index(ref.group(1)) if ref else col + 1
                if ref:
                    row = int(ref.group(2)) - 1
            continue
        if name == "c":
            yield row, col, any(_local(child.tag) == "f" for child in element)
            element.clear()
        elif name == "row":
            element.clear()


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
