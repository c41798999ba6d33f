"""Hostile files through the real import route of a roster (缴存人登记), uploaded to the running stack as
the demo employer: a broken zip, a decompression bomb, a million rows (with and without cell
references), 150,000 rows 50 columns wide, another business's template, a 50 MB file and a workbook
linking to another one are each refused with a Chinese message, leave no roster row, no staged import
and not even the file behind, and neither the member service's worker nor the heavy worker grows by
more than ``MEMORY_BOUND_MB`` while handling one (its peak resident memory, VmHWM, reset before each
upload). Formulas and scripts in cells are reported by row, or kept as inert text that the export and
the print show literally.

The files are made here, in seconds: the large ones are written as sheet XML straight into the zip."""

from __future__ import annotations

import io
import os
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader
from stdnum.cn import ric

from deploy.stack import Stack
from hall_common.roster_imports import EXTRA_COLUMNS
from hall_common.roster_models import UNSETTLED
from hall_common.settings import get_settings
from hall_common.sheet_columns import FORMULA_REASON
from hall_common.sheet_files import BOMB, BROKEN, EXTERNAL, row_limit
from services.member.models import ROSTER as MODELS

from ..reliability import Recorder
from .helpers import EMPLOYER, ROSTERS, Api, employer_api, wait_for

pytestmark = pytest.mark.integration
TYPE = "member_registration"
ROSTER = f"{ROSTERS}/{TYPE}"
XLSX = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
SHEET = "xl/worksheets/sheet1.xml"  # the template's data sheet (its instructions are sheet2)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MEMORY_BOUND_MB = 150
CJK = re.compile("[\u4e00-\u9fff]")
FORMULA_START = ("=", "+", "-", "@")


def person(index: int) -> str:
    """Valid ID numbers of this module's own (born from 1958: no other test's)."""
    body = f"310104{date(1958, 1, 1) + timedelta(days=index):%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


# -- memory of the processes handling an upload ------------------------------------------------------

def _field_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {name} for process {pid}")


def handling_processes(stack: Stack) -> dict[str, int]:
    """The member service's gunicorn workers (children of its arbiter) and the heavy worker (Celery solo:
    the job runs in the process itself), looked up afresh: gunicorn may have replaced its worker."""
    master = stack.processes["member"].pid
    found = {"heavy": stack.processes["heavy"].pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found[f"member worker {entry.name}"] = int(entry.name)
    assert len(found) > 1, "the member service's gunicorn worker was not found"
    return found


@contextmanager
def peak_growth(stack: Stack, into: dict[str, float]) -> Iterator[None]:
    """The largest growth over its resident memory before, in MB, of any handling process: each one's
    high-water mark is reset to its current size first (writing 5 to clear_refs, Linux 4.0+)."""
    pids = handling_processes(stack)
    before = {}
    for pid in pids.values():
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        before[pid] = _field_kb(pid, "VmRSS")
    yield
    growth = {name: (_field_kb(pid, "VmHWM") - before[pid]) / 1024 for name, pid in pids.items()}
    into["mb"], into["where"] = max(growth.values()), max(growth, key=lambda n: growth[n])  # type: ignore[assignment]


# -- uploads and what they left --------------------------------------------------------------------

class Uploads:
    """The uploads made and every answer's status (a 5xx anywhere is a server error)."""

    def __init__(self, employer: Api) -> None:
        self.employer = employer
        self.made = 0
        self.server_errors: list[str] = []

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = self.employer.call(method, "member", path, **kwargs)
        if answer.status_code >= 500:
            self.server_errors.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        return answer

    def upload(self, content: bytes, file_name: str) -> tuple[httpx.Response, dict[str, Any] | None]:
        """The answer and the import once checked (None when the upload was refused before one was made)."""
        self.made += 1
        answer = self.call("POST", f"{ROSTER}/imports", params={"option": "12", "file_name": file_name},
                           content=content, headers=XLSX)
        if answer.status_code != 202:
            return answer, None
        record = answer.json()["import"]

        def settled() -> dict[str, Any] | None:
            found = self.call("GET", f"/employers/{EMPLOYER}/imports/{record['id']}").json()["import"]
            return found if found["status"] not in ("queued", "running") else None

        if record["status"] not in ("queued", "running"):  # checked in the request (a small file)
            return answer, dict(record)
        # A refusal is quick: a file walked for a minute (a million rows without references, before they
        # were cut short at the limit) fails here.
        return answer, wait_for(settled, timeout=30, what=file_name)

    def roster_total(self) -> int:
        return int(self.employer.get("member", ROSTER)["total"])


def left_behind(stack: Stack) -> dict[str, int]:
    """What the roster holds in the service's database: imports, unsettled ones, their rows, file bytes."""
    engine = sa.create_engine(stack.database_url("member"))
    imports, rows = MODELS.import_, MODELS.row
    mine = (imports.employer_no == EMPLOYER, imports.business_type == TYPE)
    try:
        with engine.connect() as connection:
            counts = {
                "imports": sa.select(sa.func.count()).select_from(imports).where(*mine),
                "unsettled": sa.select(sa.func.count()).select_from(imports)
                .where(*mine, imports.status.in_(UNSETTLED)),
                "rows": sa.select(sa.func.count()).select_from(rows).where(rows.employer_no == EMPLOYER,
                                                                           rows.business_type == TYPE),
                "file_bytes": sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(imports.content)), 0))
                .where(*mine, imports.status == "failed"),
            }
            return {name: int(connection.scalar(query) or 0) for name, query in counts.items()}
    finally:
        engine.dispose()


# -- the files ---------------------------------------------------------------------------------------

def with_sheet(template: bytes, write: Callable[[IO[bytes]], object], extra: dict[str, bytes] | None = None,
               level: int = 6) -> bytes:
    """The template with its data sheet's XML written by ``write`` (streamed into the zip), its parts
    replaced or added by ``extra``."""
    parts = dict(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name in source.namelist():
            if name != SHEET:
                replaced: bytes | None = parts.pop(name, None)
                archive.writestr(name, replaced or source.read(name))
        with archive.open(SHEET, "w", force_zip64=True) as stream:
            write(stream)
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def cell(ref: str, value: str | tuple[str, str]) -> str:
    """Text as typed (an inline string), or a (formula, cached value) pair as Excel saves a formula."""
    if isinstance(value, tuple):
        return f'<c r="{ref}" t="str"><f>{escape(value[0])}</f><v>{escape(value[1])}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>' if value else ""


def sheet_xml(header: list[str], lines: list[list[Any]]) -> bytes:
    rows = []
    for number, line in enumerate([header, *lines], start=1):
        cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(line))
        rows.append(f'<row r="{number}">{cells}</row>')
    return f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(rows)}</sheetData></worksheet>'.encode()


def header_row(cells: str) -> bytes:
    return f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">{cells}</row>'.encode()


def million_rows(template: bytes, header: list[str], referenced: bool) -> bytes:
    """1,000,000 data rows. With references each cell names its place (as Excel writes), only 姓名 filled
    to stay under the size limit; without, cells follow one another (as some generators write), every
    column filled."""
    month = date.today().strftime("%Y%m")
    if referenced:
        line = '<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>张三</t></is></c></row>'
    else:
        line = (f'<row r="{{n}}"><c t="inlineStr"><is><t>张三</t></is></c><c/><c t="inlineStr"><is><t>{person(1)}'
                f'</t></is></c><c><v>4000</v></c><c><v>{month}</v></c></row>')

    def write(stream: IO[bytes]) -> None:
        stream.write(header_row("".join(cell(f"{chr(65 + i)}1", v) for i, v in enumerate(header))))
        for start in range(2, 1_000_002, 50_000):
            stream.write("".join(map(line.format_map, ({"n": n} for n in range(start, start + 50_000)))).encode())
        stream.write(b"</sheetData></worksheet>")

    return with_sheet(template, write)


def bomb(template: bytes, header: list[str]) -> bytes:
    """A sheet of 320 MB of blanks between its cells: 1.4 MB zipped, declared as 320 MB inflated."""
    def write(stream: IO[bytes]) -> None:
        stream.write(header_row("".join(cell(f"{chr(65 + i)}1", v) for i, v in enumerate(header))))
        blank = b" " * (1 << 20)
        for _ in range(320):
            stream.write(blank)
        stream.write(b"</sheetData></worksheet>")

    return with_sheet(template, write, level=1)


def wide(template: bytes, header: list[str]) -> bytes:
    """150,000 rows 50 columns wide of random digits (7.5 million cells, 6 MB zipped, at a ratio that
    passes the bomb check): calamine would hold them all before the rows were counted."""
    shuffled = random.Random(7)
    block = "".join("<row>" + "".join(f"<c><v>{shuffled.randint(0, 9)}</v></c>" for _ in range(50)) + "</row>"
                    for _ in range(1000)).encode()  # longer than deflate's window: it does not zip away

    def write(stream: IO[bytes]) -> None:
        stream.write(header_row("".join(cell(f"{chr(65 + i)}1", v) for i, v in enumerate(header))))
        for _ in range(150):
            stream.write(block)
        stream.write(b"</sheetData></worksheet>")

    return with_sheet(template, write)


LINK_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"


def linked(template: bytes, header: list[str], line: list[Any]) -> bytes:
    """A sound file with one good row whose workbook links to a workbook on a share (what Excel saves
    for a cell typed ='\\\\fileserver\\hr\\[工资.xlsx]Sheet1'!A1)."""
    with zipfile.ZipFile(io.BytesIO(template)) as source:
        rels = source.read("xl/_rels/workbook.xml.rels")
    part = "xl/externalLinks/externalLink1.xml"
    return with_sheet(template, lambda s: s.write(sheet_xml(header, [line])), extra={
        "xl/_rels/workbook.xml.rels": rels.replace(
            b"</Relationships>", f'<Relationship Id="rId99" Type="{LINK_TYPE}" Target="/{part}"/></Relationships>'
            .encode()),
        part: (f'<externalLink xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
               'relationships"><externalBook r:id="rId1"/></externalLink>').encode(),
        "xl/externalLinks/_rels/externalLink1.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
            'Target="file:///\\\\fileserver\\hr\\工资.xlsx" TargetMode="External"/></Relationships>').encode(),
    })


# -- the tests ---------------------------------------------------------------------------------------

def test_hostile_files_are_refused_clearly_with_nothing_stored_and_memory_bounded(
        stack: Stack, reliability_report: Recorder) -> None:
    """Each hostile upload (broken zip, decompression bomb, a million rows with and without cell
    references, 150,000 rows 50 columns wide, another business's template, 50 MB, a link to another
    workbook) through the real import route: refused with its Chinese message, never a 5xx, no roster
    row, no staged import and no file kept, and the member worker's and heavy worker's peak memory grows
    by less than 150 MB."""
    employer = employer_api(stack)
    uploads = Uploads(employer)
    template = uploads.call("GET", f"{ROSTER}/template", params={"option": "12"}).content
    header = [str(c.value) for c in load_workbook(io.BytesIO(template)).worksheets[0][1]]
    month = date.today().strftime("%Y%m")
    other = uploads.call("GET", f"{ROSTERS}/base_adjustment/template").content
    files: list[tuple[str, bytes, str]] = [
        ("broken zip", template[: len(template) // 2], BROKEN),
        ("decompression bomb", bomb(template, header), BOMB),
        ("a million rows", million_rows(template, header, referenced=True),
         f"文件行数超过{row_limit(get_settings().import_max_rows)}行"),
        ("a million rows without references", million_rows(template, header, referenced=False),
         f"文件行数超过{row_limit(get_settings().import_max_rows)}行"),
        ("150,000 rows 50 columns wide", wide(template, header), f"文件列数超过{len(header) + EXTRA_COLUMNS}列"),
        ("another business's template", other, "模板不正确：第1行应为 " + "、".join(header)),
        ("50 MB", b"PK\x03\x04" + os.urandom(50 * 1024 * 1024), "提交的数据过大"),
        ("link to another workbook", linked(template, header, ["王五", "", person(2), "4000", month]), EXTERNAL),
    ]
    total, stored = uploads.roster_total(), left_behind(stack)
    peak = 0.0
    for kind, content, expected in files:
        growth: dict[str, Any] = {}
        with peak_growth(stack, growth):
            answer, record = uploads.upload(content, f"{kind}.xlsx")
        if record is None:  # refused before an import was made: the body limit
            assert answer.status_code == 413, (kind, answer.status_code, answer.text[:300])
            message, where = answer.json()["message"], f"HTTP {answer.status_code}"
        else:
            assert record["status"] == "failed", (kind, record)
            message, where = record["message"], "import failed"
        assert message.startswith(expected) and CJK.search(message), (kind, message)
        assert uploads.roster_total() == total, kind
        now = left_behind(stack)
        assert (now["unsettled"], now["rows"], now["file_bytes"]) == (0, stored["rows"], 0), (kind, now)
        assert now["imports"] == stored["imports"] + (record is not None), (kind, now)
        stored = now
        assert growth["mb"] < MEMORY_BOUND_MB, (kind, growth)
        peak = max(peak, growth["mb"])
        size = f"{len(content) / 1024 / 1024:.1f} MB" if len(content) > 1024 * 1024 else f"{len(content) // 1024} KB"
        reliability_report.note(f"{kind} ({size}): {where}, 「{message}」, "
                                f"peak growth {growth['mb']:.0f} MB ({growth['where'].split(' ')[0]})")
    assert uploads.server_errors == []
    reliability_report.figures(requests=uploads.made, server_errors=len(uploads.server_errors), peak_mb=round(peak, 1))


SCRIPT = "<script>alert(1)</script>"
DDE = "=cmd|' /C calc'!A0"
INERT = (SCRIPT, DDE, "+1+1", "-2+3", "@SUM(A1)")  # typed as text: kept as text


def test_formulas_and_scripts_in_cells_are_reported_or_kept_inert_in_exports_and_prints(
        stack: Stack, reliability_report: Recorder) -> None:
    """A file whose cells hold formulas (=HYPERLINK, a DDE =cmd|...) and text that looks like a formula
    or a script: the formula cells are reported by row and field; the text rows are otherwise valid and
    kept as typed, and once the members are opened the export never starts a cell with = + - @ and the
    print shows the text literally."""
    employer = employer_api(stack)
    uploads = Uploads(employer)
    template = uploads.call("GET", f"{ROSTER}/template", params={"option": "12"}).content
    header = [str(c.value) for c in load_workbook(io.BytesIO(template)).worksheets[0][1]]
    month = date.today().strftime("%Y%m")
    ids = {name: person(10 + index) for index, name in enumerate(INERT)}
    lines: list[list[Any]] = [[name, "", ids[name], "4000", month] for name in INERT]
    lines.append([('HYPERLINK("http://evil.example/steal","点我")', "点我"), "", person(20), "4000", month])
    lines.append(["赵六", "", person(21), ("cmd|' /C calc'!A0", "4000"), month])
    total = uploads.roster_total()
    answer, record = uploads.upload(with_sheet(template, lambda s: s.write(sheet_xml(header, lines))), "公式.xlsx")
    assert answer.status_code == 202 and record is not None
    assert (record["status"], record["good"], record["bad"]) == ("checked", len(INERT), 2), record
    assert [(e["row"], e["field"], e["reason"]) for e in record["errors"]] == [
        (len(INERT) + 2, "姓名", FORMULA_REASON), (len(INERT) + 3, "缴存基数", FORMULA_REASON)]
    assert uploads.roster_total() == total  # staged until the operator decides
    accepted = uploads.call("POST", f"/employers/{EMPLOYER}/imports/{record['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["import"]["status"] == "added", accepted.text
    committed = uploads.call("POST", f"{ROSTER}/commit", json={"row_ids": []})
    assert committed.status_code == 201, committed.text

    def opened() -> dict[str, str] | None:
        found = {}
        for name, id_number in ids.items():
            hits = employer.get("member", f"/employers/{EMPLOYER}/members/search", q=id_number)
            if not hits:
                return None
            assert hits[0]["name"] == name  # stored as typed, inert text
            found[name] = hits[0]["member_no"]
        return found

    members = wait_for(opened, timeout=60, what="the members opened")
    queries = f"/employers/{EMPLOYER}/queries/member-accounts"
    exported = uploads.call("GET", f"{queries}/export")
    assert exported.status_code == 200, exported.text[:300]
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert [t for t in texts if t.startswith(FORMULA_START)] == []
    for name in INERT:  # each name is there, a leading ' keeping a formula-like one text
        assert ("'" + name if name.startswith(FORMULA_START) else name) in texts, name
    for name in (SCRIPT, DDE):
        printed = uploads.call("GET", f"{queries}/print", params={"member_no": members[name]})
        assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf", printed.text[:300]
        text = "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages).split())
        assert "".join(name.split()) in text, (name, text[:500])
    assert uploads.server_errors == []
    reliability_report.figures(requests=uploads.made, server_errors=len(uploads.server_errors))
    reliability_report.note(f"formula cells reported by row ({FORMULA_REASON}); {len(INERT)} formula-like or script "
                            "names kept as text, exported behind a leading ' and printed literally")
