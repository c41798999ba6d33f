"""Spreadsheets: the template an operator fills, what an upload reads as, what is refused whole, the
marked copy handed back, and the streamed export (opened again with openpyxl as Excel would)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import msoffcrypto.format.ooxml
import pytest
from openpyxl import Workbook, load_workbook

from hall_common.sheets import (
    FORMULA,
    ImportRefused,
    RowError,
    SheetColumn,
    build_template,
    marked_workbook,
    read_upload,
    xlsx_stream,
)

COLUMNS = (
    SheetColumn("name", "姓名", note="与身份证一致"),
    SheetColumn("id_number", "证件号码", "id", width=22, note="18位居民身份证号码，末位X大写小写均可"),
    SheetColumn("gender", "性别", "choice", choices=("男", "女")),
    SheetColumn("open_date", "开户日期", "date", required=False),
    SheetColumn("start_month", "起缴年月", "month"),
    SheetColumn("base", "缴存基数", "money"),
    SheetColumn("member_no", "个人账号", "code", required=False),
)
LABELS = [c.label for c in COLUMNS]
LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_rows": 100}


def xlsx(*rows: Sequence[object], header: list[str] | None = None, title: str = "缴存人登记") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(LABELS if header is None else header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def refused(data: bytes, **limits: int) -> str:
    with pytest.raises(ImportRefused) as caught:
        read_upload(data, COLUMNS, **{**LIMITS, **limits})
    assert caught.value.status == 422
    return caught.value.message


# -- the template --------------------------------------------------------------------------------------

def test_the_template_has_the_headers_text_id_column_dropdown_and_instructions() -> None:
    data = build_template("缴存人登记", COLUMNS, ["每行填写一名缴存人"], {"缴存比例": "12%"})
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["缴存人登记", "填写说明"]
    sheet = workbook["缴存人登记"]
    assert [c.value for c in sheet[1]] == LABELS
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    # An 18-digit ID typed into a general cell becomes 1.10101E+17: the column is text.
    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.column_dimensions["F"].number_format == "General"  # money stays a number
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    assert validations[0].formula1 == '"男,女"'
    assert "C2" in validations[0].sqref and "C10001" in str(validations[0].sqref)
    instructions = [row[0] for row in workbook["填写说明"].iter_rows(values_only=True)]
    assert "每行填写一名缴存人" in instructions and "缴存比例：12%" in instructions
    lines = {row[0]: row for row in workbook["填写说明"].iter_rows(values_only=True) if row[0] in LABELS}
    assert lines["证件号码"] == ("证件号码", "必填", "18位居民身份证号码，末位X大写小写均可")
    assert lines["开户日期"][1] == "选填"
    assert "男、女" in lines["性别"][2]


def test_a_filled_template_reads_back() -> None:
    data = build_template("缴存人登记", COLUMNS)
    workbook = load_workbook(io.BytesIO(data))
    workbook["缴存人登记"].append(["张三", "110101199003076632", "男", "2024-01-05", "202401", "5000", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_upload(buffer.getvalue(), COLUMNS, **LIMITS)
    assert rows == [(2, {"name": "张三", "id_number": "110101199003076632", "gender": "男", "open_date": "2024-01-05",
                         "start_month": "202401", "base": "5000", "member_no": ""})]


# -- normalisation ---------------------------------------------------------------------------------------

def test_full_width_characters_stray_spaces_and_lower_case_x_are_normalised() -> None:
    data = xlsx(["\u3000张　三 ", " 1101 0119 9003 0766 3ｘ", " 女 ", "２０２４-０１-０５", " 2024 01 ",
                 "３０００.５０", "００１２３"])
    [(row, values)] = read_upload(data, COLUMNS, **LIMITS)
    assert row == 2
    assert values == {"name": "张 三", "id_number": "11010119900307663X", "gender": "女",
                      "open_date": "2024-01-05", "start_month": "202401", "base": "3000.50", "member_no": "00123"}


def test_numbers_dates_and_serials_read_as_typed() -> None:
    data = xlsx(
        ["李四", "11010119900307663x", "男", date(2024, 1, 5), date(2024, 2, 1), 3000.0, 123456],
        ["王五", 110101199003076632, "男", 45296, 202403, 4500.5, "654321"],
    )
    first, second = (values for _, values in read_upload(data, COLUMNS, **LIMITS))
    assert (first["open_date"], first["start_month"], first["base"], first["member_no"]) == (
        "2024-01-05", "202402", "3000", "123456")
    assert first["id_number"] == "11010119900307663X"
    assert (second["open_date"], second["start_month"], second["base"]) == ("2024-01-05", "202403", "4500.5")
    # Typed as a number, an ID lost its last digits: it stays digits (no "1.1E+17") for the check to refuse.
    assert second["id_number"].isdigit() and len(second["id_number"]) == 18


def test_blank_rows_are_skipped_and_rows_keep_their_excel_numbers() -> None:
    data = xlsx(["张三", "110101199003076632", "男", "", "202401", "5000", ""], ["", "  ", "", "", "", "", ""],
                [], ["李四", "110101199003076632", "女", "", "202401", "5000", ""])
    assert [row for row, _ in read_upload(data, COLUMNS, **LIMITS)] == [2, 5]


def test_a_formula_cell_is_reported_not_its_cached_value() -> None:
    data = xlsx(["张三", "110101199003076632", "男", "", "202401", "=2000+3000", ""],
                ["李四", "110101199003076632", "女", "", "202401", "5000", ""])
    rows = read_upload(data, COLUMNS, **LIMITS)
    assert rows[0][1]["base"] == FORMULA and rows[1][1]["base"] == "5000"


def test_a_row_error_reads_with_its_row_and_field() -> None:
    assert RowError(3, "证件号码", "校验位不正确").text() == "第3行 证件号码：校验位不正确"
    assert RowError(4, "", "与第3行重复").text() == "第4行：与第3行重复"
    assert RowError(0, "姓名", "不能为空").text() == "姓名：不能为空"


# -- refusals --------------------------------------------------------------------------------------------

def good_file() -> bytes:
    return xlsx(["张三", "110101199003076632", "男", "", "202401", "5000", ""])


def test_an_encrypted_workbook_is_refused() -> None:
    encrypted = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(good_file())).encrypt("secret", encrypted)
    assert encrypted.getvalue().startswith(bytes.fromhex("D0CF11E0A1B11AE1"))  # Excel's OLE container
    assert refused(encrypted.getvalue()) == "文件已加密，请取消密码保护后上传"


def test_an_old_xls_a_csv_a_text_and_another_zip_are_not_xlsx() -> None:
    message = "文件不是有效的xlsx格式（请使用下载的模板，另存为Excel工作簿 .xlsx）"
    ole_without_encryption = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504 + "Workbook".encode("utf-16-le")
    assert refused(ole_without_encryption) == message
    assert refused("姓名,证件号码\n张三,110101199003076632\n".encode()) == message
    assert refused(b"just some text renamed to .xlsx") == message
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refused(other.getvalue()) == message


def test_a_broken_zip_is_refused() -> None:
    data = good_file()
    assert "文件已损坏" in refused(data[: len(data) // 2])
    damaged = bytearray(data)
    start = data.index(b"xl/worksheets/sheet1.xml") + 200  # inside the sheet's compressed bytes
    damaged[start:start + 40] = b"\xff" * 40
    assert "文件已损坏" in refused(bytes(damaged))


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(good_file())) as source:
            for name in source.namelist():
                archive.writestr(name, source.read(name))
        archive.writestr("xl/media/padding.bin", b"\x00" * (60 * 1024 * 1024))
    assert len(bomb.getvalue()) < 200 * 1024  # a 60 MB member in a few dozen KB
    assert refused(bomb.getvalue()) == "文件内容异常（压缩数据过大），已拒绝"
    # The total inflated size is bounded too, whatever each member's ratio.
    assert refused(good_file(), max_unpacked_bytes=1000) == "文件内容异常（压缩数据过大），已拒绝"


def test_a_member_declaring_less_than_it_holds_is_refused() -> None:
    data = bytearray(good_file())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    smaller = (info.file_size // 10).to_bytes(4, "little")
    data[info.header_offset + 22:info.header_offset + 26] = smaller  # the local header's size
    entry = data.index(b"PK\x01\x02", data.rindex(b"PK\x05\x06") - 4096)
    while data[entry + 46:entry + 46 + len(info.filename)] != info.filename.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = smaller  # the central directory's size
    assert refused(bytes(data)) == "文件已损坏，无法读取（请重新另存为Excel工作簿 .xlsx 后上传）"


LINK_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"
LINK_XML = (b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>'
            b'</externalLink>')


def with_external_link(data: bytes, part: str = "xl/externalLinks/externalLink1.xml") -> bytes:
    """The workbook linked to another one on a share, as Excel saves a cell typed ='[book.xlsx]Sheet1'!A1."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", f'<Relationship Id="rId99" Type="{LINK_TYPE}" '
                                          f'Target="/{part}"/></Relationships>'.encode())
            archive.writestr(name, content)
        archive.writestr(part, LINK_XML)
        folder, _, file_name = part.rpartition("/")
        archive.writestr(f"{folder}/_rels/{file_name}.rels",
                         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                         'relationships/externalLinkPath" Target="file:///\\\\fileserver\\hr\\工资.xlsx" '
                         'TargetMode="External"/></Relationships>')
    return out.getvalue()


def test_a_workbook_linking_to_another_workbook_is_refused() -> None:
    message = "文件含有指向其他工作簿或外部数据的链接，请将数据以数值粘贴到下载的模板中后上传"
    assert refused(with_external_link(good_file())) == message
    # The same link in a part of another name is found by its relationship.
    assert refused(with_external_link(good_file(), part="xl/misc/link.xml")) == message
    assert len(read_upload(good_file(), COLUMNS, **LIMITS)) == 1  # the file without the link reads


def test_an_empty_or_oversized_file_is_refused() -> None:
    assert refused(b"") == "文件为空，请选择填写好的模板文件"
    assert refused(good_file(), max_bytes=1024) == "文件超过1KB，请拆分后分批导入"
    big = 10 * 1024 * 1024
    assert refused(b"x" * (big + 1)) == "文件超过10MB，请拆分后分批导入"


def test_the_wrong_template_names_what_was_expected_and_found() -> None:
    message = refused(xlsx(["张三", "110101199003076632"], header=["姓名", "身份证号"]))
    assert message.startswith("模板不正确：第1行应为 姓名、证件号码、性别、开户日期、起缴年月、缴存基数、个人账号")
    assert "实际为 姓名、身份证号" in message


def test_too_many_rows_or_columns_and_no_data_are_refused() -> None:
    row = ["张三", "110101199003076632", "男", "", "202401", "5000", ""]
    assert refused(xlsx(row, row, row), max_rows=2) == "数据超过2行，请拆分后分批导入"
    assert refused(xlsx(), max_rows=2) == "文件中没有数据，请从第2行起填写后上传"
    assert refused(xlsx([*row, "", "", "多余"]), max_columns=9) == "文件列数超过9列，请使用下载的模板填写"


def with_sheet(sheet_xml: bytes) -> bytes:
    """A good file whose first sheet's XML is replaced (what a crafted upload would carry)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good_file())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            archive.writestr(name, sheet_xml if name == "xl/worksheets/sheet1.xml" else source.read(name))
    return out.getvalue()


SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>%s</sheetData></worksheet>'
HEADER_ROW = b'<row r="1">' + b"".join(
    b'<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>' % (chr(65 + i).encode(), label.encode())
    for i, label in enumerate(LABELS)) + b"</row>"


def test_a_tiny_file_reaching_the_last_cell_is_refused_before_it_is_read() -> None:
    # Read as a dense grid, A1 to XFD1048576 would be 17 billion cells: the process would abort.
    far = SHEET % (HEADER_ROW + b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    assert refused(with_sheet(far)) == "文件列数超过50列，请使用下载的模板填写"
    down = SHEET % (HEADER_ROW + b'<row r="900000"><c r="A900000" t="inlineStr"><is><t>x</t></is></c></row>')
    assert refused(with_sheet(down)) == "文件行数超过1101行，请删除多余的空行或拆分后分批导入"
    # Cells without references are placed one after another: counted exactly, the same limits hold.
    unreferenced = SHEET % (HEADER_ROW + b"<row>" + b"<c/>" * 60 + b"</row>")
    assert refused(with_sheet(unreferenced)) == "文件列数超过50列，请使用下载的模板填写"
    prefixed = (b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
                + HEADER_ROW.replace(b"<", b"<x:").replace(b"<x:/", b"</x:")
                + b'<x:row r="5000"><x:c r="A5000"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    assert refused(with_sheet(prefixed)) == "文件行数超过1101行，请删除多余的空行或拆分后分批导入"
    blank_rows_within_limits = SHEET % (HEADER_ROW + b'<row r="1000"><c r="A1000" t="inlineStr"><is><t>x</t></is></c>'
                                        b'<c r="G1000"><v>1</v></c></row>')
    assert read_upload(with_sheet(blank_rows_within_limits), COLUMNS, **LIMITS)[0][0] == 1000


# -- the marked copy -------------------------------------------------------------------------------------

def test_the_marked_copy_shows_each_bad_cell_and_row() -> None:
    data = xlsx(["张三", "110101199003076631", "男", "", "202401", "5000", ""],
                ["李四", "110101199003076632", "女", "", "202401", "5000", ""],
                ["王五", "110101199003076632", "女", "", "202413", "", ""])
    errors = [RowError(2, "证件号码", "校验位不正确"), RowError(4, "起缴年月", "月份不正确"),
              RowError(4, "缴存基数", "不能为空"), RowError(4, "", "证件号码与第3行重复")]
    workbook = load_workbook(io.BytesIO(marked_workbook(data, COLUMNS, errors)))
    assert workbook.sheetnames == ["缴存人登记", "错误说明"]
    sheet = workbook["缴存人登记"]
    assert [c.value for c in sheet[3]][:7] == ["李四", "110101199003076632", "女", None, "202401", "5000", None]
    assert sheet["B2"].fill.fgColor.rgb.endswith("FFC7CE") and sheet["B2"].comment.text == "校验位不正确"
    assert sheet["A2"].fill.fill_type is None and sheet["B3"].comment is None
    assert sheet["E4"].comment.text == "月份不正确" and sheet["F4"].fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet["H1"].value == "错误原因"
    assert sheet["H2"].value == "证件号码：校验位不正确" and sheet["H3"].value is None
    assert sheet["H4"].value == "起缴年月：月份不正确；缴存基数：不能为空；证件号码与第3行重复"
    listing = list(workbook["错误说明"].iter_rows(values_only=True))
    assert listing[0] == ("行号", "列名", "错误原因") and (2, "证件号码", "校验位不正确") in listing
    assert len(listing) == 5


# -- the export ------------------------------------------------------------------------------------------

EXPORT_COLUMNS = (SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
                  SheetColumn("open_date", "开户日期", "date"), SheetColumn("balance", "账户余额", "money"))


def test_the_export_has_the_rows_with_formulas_escaped_and_money_as_numbers(monkeypatch: pytest.MonkeyPatch,
                                                                               tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rows = [
        {"member_no": "000123", "name": "=1+1", "open_date": date(2024, 1, 5), "balance": Decimal("1234.5")},
        {"member_no": 42, "name": "@SUM(A1)", "open_date": None, "balance": Decimal("-3.10")},
        {"member_no": "000125", "name": "-2+3", "open_date": date(2024, 2, 1), "balance": Decimal("0")},
        {"member_no": "000126", "name": "张三", "open_date": date(2024, 2, 1), "balance": None},
    ]
    chunks = list(xlsx_stream("缴存人账户信息", EXPORT_COLUMNS, rows))
    assert os.listdir(tmp_path) == []  # the temporary workbook is gone once sent
    sheet = load_workbook(io.BytesIO(b"".join(chunks)))["缴存人账户信息"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("个人账号", "姓名", "开户日期", "账户余额")
    assert values[1] == ("000123", "'=1+1", "2024-01-05", 1234.5)
    assert values[2] == ("42", "'@SUM(A1)", None, -3.1)
    assert values[3][1] == "'-2+3" and values[4] == ("000126", "张三", "2024-02-01", None)
    assert sheet["D2"].number_format == "0.00" and sheet["B2"].data_type == "s"


def test_an_export_abandoned_midway_leaves_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rows = ({"member_no": f"{i:06d}", "name": "张三" * 50} for i in range(20_000))
    stream = xlsx_stream("导出", EXPORT_COLUMNS, rows)
    assert next(stream).startswith(b"PK")
    stream.close()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("ref", "limits", "refusal"), [
    (b"AX1101", (1101, 50), None), (b"AY5", (1101, 50), "列数"), (b"A1102", (1101, 50), "行数"),
    (b"Z999", (999, 26), None), (b"AA999", (999, 26), "列数"), (b"B1000", (999, 26), "行数"),
    (b"A10000", (9999, 50), "行数"), (b"A9999", (9999, 50), None),
])
def test_the_extent_limits_are_exact(ref: bytes, limits: tuple[int, int], refusal: str | None) -> None:
    from hall_common.sheet_files import check_extent

    xml = SHEET % (b'<row r="1"><c r="A1"><v>1</v></c><c r="%s"><v>2</v></c></row>' % ref)
    if refusal is None:
        check_extent(xml, *limits)
    else:
        with pytest.raises(ImportRefused, match=refusal):
            check_extent(xml, *limits)
    # The same cells written unusually (two spaces before r) are walked exactly, to the same answer.
    with pytest.raises(ImportRefused, match=refusal) if refusal else contextlib.nullcontext():
        check_extent(xml.replace(b"<c r=", b"<c  r="), *limits)


@pytest.mark.parametrize("offset", range(-16, 3))
def test_a_tag_cut_by_the_chunk_boundary_is_still_found(offset: int) -> None:
    """The sheet is read a chunk at a time: a cell beyond the limit, a formula or sheetData itself cut
    in two by a chunk's end is found as in one piece."""
    from functools import partial

    from hall_common import sheet_files

    def at_boundary(head: bytes, tail: bytes, marker: bytes) -> bytes:
        pad = sheet_files.CHUNK_BYTES + offset - len(head) - tail.index(marker)
        return head + b" " * pad + tail

    beyond = b'<row r="2000"><c r="A2000"><v>1</v></c></row></sheetData></worksheet>'
    xml = at_boundary(SHEET.split(b"%s")[0] + HEADER_ROW, beyond, b'<c r="A2000"')
    with pytest.raises(ImportRefused, match="行数"):
        sheet_files.check_extent(xml, 1101, 50)
    formula = b'<row r="2"><c r="B2"><f>1+1</f><v>2</v></c></row></sheetData></worksheet>'
    xml = at_boundary(SHEET.split(b"%s")[0] + HEADER_ROW, formula, b"<f>")
    assert sheet_files._check_sheet(partial(io.BytesIO, xml), 1101, 50) == {(1, 1)}
    start = SHEET.index(b"<sheetData")
    far = SHEET[start:] % (HEADER_ROW + b'<row r="9"><c r="AY9"><v>1</v></c></row>')
    with pytest.raises(ImportRefused, match="列数"):
        sheet_files.check_extent(at_boundary(SHEET[:start], far, b"<sheetData"), 1101, 50)
