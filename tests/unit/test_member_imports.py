"""Batch import into the rosters with real xlsx files: the template, a file with errors (reported by row
and field, marked in a copy, nothing added until the operator chooses), a clean file, cells as Excel
users type them, refused files, and a large file queued for the heavy worker."""

from __future__ import annotations

import io
from datetime import date

import pytest
from flask import Flask
from openpyxl import load_workbook

from deploy import demo_data
from hall_common import roster_imports
from hall_common.settings import reset_settings

from .conftest import make_app
from .member_support import BASE, XLSX, filled, members_by_id, resident_id, rows, template, upload

TYPE = "member_registration"


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def test_the_template_has_headers_an_instruction_sheet_dropdowns_and_text_columns(
        app: Flask, employer_headers: dict[str, str]) -> None:
    book = load_workbook(io.BytesIO(template(app, employer_headers, TYPE, option="10")))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["姓名", "证件类型", "证件号码", "缴存基数", "首次缴存年月", "手机号码"]
    assert sheet.column_dimensions["C"].number_format == "@" and sheet.column_dimensions["E"].number_format == "@"
    assert any("居民身份证" in str(v.formula1) for v in sheet.data_validations.dataValidation)
    instructions = " ".join(str(c.value) for row in book["填写说明"].iter_rows() for c in row if c.value)
    assert "10%" in instructions and "证件号码" in instructions


def test_a_file_with_errors_adds_nothing_until_the_good_rows_are_accepted(
        app: Flask, employer_headers: dict[str, str]) -> None:
    demo_id = demo_data.members()[0]["id_number"]
    bad_check = resident_id(101)[:-1] + ("1" if resident_id(101)[-1] != "1" else "2")
    content = filled(template(app, employer_headers, TYPE), [
        ["赵一", "居民身份证", resident_id(100), "5000", "202612", ""],
        ["钱二", "居民身份证", bad_check, "5000", "202612", ""],  # row 3: check character
        ["孙三", "", "110105199002300018", "5000", "202612", ""],  # row 4: 30 February
        ["李四", "", resident_id(100), "5000", "202612", ""],  # row 5: twice in the file
        ["周五", "", demo_id, "5000", "202612", ""],  # row 6: already open here
        ["吴六", "", resident_id(102), "4000.5", "202612", "13912345678"],
    ])
    answer = upload(app, employer_headers, TYPE, content, option="10")
    assert answer.status_code == 202, answer.get_json()
    found = answer.get_json()["import"]
    assert (found["status"], found["good"], found["bad"]) == ("checked", 2, 4)
    errors = {(e["row"], e["field"]) : e["reason"] for e in found["errors"]}
    assert set(errors) == {(3, "证件号码"), (4, "证件号码"), (5, "证件号码"), (6, "证件号码")}
    assert errors[(5, "证件号码")] == "与第2行重复" and errors[(6, "证件号码")] == "该证件号码已在本单位开户"
    assert rows(app, employer_headers, TYPE)["total"] == 0  # nothing added yet
    # The marked copy: the bad cells filled and commented, the reason in the last column.
    marked = app.test_client().get(f"{BASE}/imports/{found['id']}/marked", headers=employer_headers)
    assert marked.status_code == 200 and marked.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(marked.data)).worksheets[0]
    assert sheet["C3"].fill.fgColor.rgb.endswith("FFC7CE") or sheet["C3"].fill.fill_type == "solid"
    assert sheet["C3"].comment is not None and "校验位" in sheet["C3"].comment.text
    reasons = [sheet.cell(row=r, column=sheet.max_column).value for r in range(1, 8)]
    assert reasons[0] == "错误原因" and reasons[1] in (None, "") and "校验位" in reasons[2]
    # Another upload waits until this one is settled; then only the good rows are added.
    assert upload(app, employer_headers, TYPE, content).status_code == 409
    accepted = app.test_client().post(f"{BASE}/imports/{found['id']}/accept", headers=employer_headers)
    assert accepted.get_json()["import"]["status"] == "added"
    assert app.test_client().post(f"{BASE}/imports/{found['id']}/accept", headers=employer_headers).status_code == 409
    added = rows(app, employer_headers, TYPE)["items"]
    assert [(r["name"], r["row_no"], r["ratio_text"]) for r in added] == [("赵一", 2, "10%"), ("吴六", 7, "10%")]
    assert added[1]["monthly_amount"] == "800.10"  # 4000.50 x 10% = 400.05, twice


def test_cells_as_excel_users_type_them_are_read(app: Flask, employer_headers: dict[str, str]) -> None:
    full_width = resident_id(103).translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    content = filled(template(app, employer_headers, TYPE), [
        [" 王 七 ", "居民身份证", f"  {full_width} ", 5000, 202612, "  13912345678 "],  # numbers, not text
        ["郑八", None, resident_id(104).lower(), "５０００", date(2026, 12, 1), None],  # a date cell
        [None, None, None, None, None, None],  # a blank row
        ["冯九", None, resident_id(105), "3000.00", 46357, None],  # a date as an Excel serial (2026-12-01)
    ])
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    assert found["status"] == "added", found
    added = {r["id_number"]: r for r in rows(app, employer_headers, TYPE)["items"]}
    assert set(added) == {resident_id(103), resident_id(104).upper(), resident_id(105)}
    assert {r["first_month"] for r in added.values()} == {"202612"}
    assert added[resident_id(103)]["mobile"] == "13912345678"


def test_a_formula_in_a_cell_is_reported(app: Flask, employer_headers: dict[str, str]) -> None:
    content = filled(template(app, employer_headers, TYPE), [["陈十", None, resident_id(106), "=2000+3000", "202612"]])
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    assert found["errors"] == [{"row": 2, "field": "缴存基数", "reason": "单元格含有公式，请填写数值"}]


@pytest.mark.parametrize(("content", "reason"), [
    (b"name,id\n", "xlsx"),
    # Excel's password-protected workbook: an OLE2 container holding the EncryptedPackage stream.
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le"), "加密"),
    (b"PK\x03\x04broken", "损坏"),
])
def test_a_file_that_is_not_a_sound_xlsx_is_refused(app: Flask, employer_headers: dict[str, str], content: bytes,
                                                    reason: str) -> None:
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    assert found["status"] == "failed" and reason in found["message"], found
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_the_wrong_template_is_refused_naming_the_headers(app: Flask, employer_headers: dict[str, str]) -> None:
    content = filled(template(app, employer_headers, "member_seal"), [["100100001001", "王伟", "离职"]])
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    assert found["status"] == "failed" and "姓名" in found["message"] and "个人账号" in found["message"]


def test_a_large_file_is_queued_for_the_heavy_worker(app: Flask, employer_headers: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_IMPORT_INLINE_BYTES", "0")
    reset_settings()
    sent: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(roster_imports, "enqueue", lambda book, import_id: sent.append((book.owner, [import_id])))
    content = filled(template(app, employer_headers, TYPE),
                     [[f"员工{i}", None, resident_id(200 + i), "5000", "202612"] for i in range(30)])
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    assert found["status"] == "queued" and sent == [("member", [found["id"]])]
    current = app.test_client().get(f"{BASE}/rosters/{TYPE}/imports/current", headers=employer_headers).get_json()
    assert current["import"]["id"] == found["id"]  # a reload finds it again
    from services.member.businesses import BOOK

    with app.app_context():
        roster_imports.run(BOOK, found["id"])
        roster_imports.run(BOOK, found["id"])  # a redelivery after it finished changes nothing
    done = app.test_client().get(f"{BASE}/imports/{found['id']}", headers=employer_headers).get_json()["import"]
    assert (done["status"], done["done"], done["total"]) == ("added", 30, 30)
    assert rows(app, employer_headers, TYPE)["total"] == 30
    assert resident_id(200) not in members_by_id(app, employer_headers)  # in the roster, not yet opened


def test_another_employers_import_looks_missing(app: Flask, employer_headers: dict[str, str],
                                               other_employer_headers: dict[str, str]) -> None:
    content = filled(template(app, employer_headers, TYPE), [["赵一", None, "123", "5000", "202612"]])
    found = upload(app, employer_headers, TYPE, content).get_json()["import"]
    client = app.test_client()
    other_no = "200200002"
    for path in (f"/employers/{other_no}/imports/{found['id']}", f"/employers/{other_no}/imports/{found['id']}/marked"):
        assert client.get(path, headers=other_employer_headers).status_code == 404
    assert client.post(f"/employers/{other_no}/imports/{found['id']}/discard",
                       headers=other_employer_headers).status_code == 404
    discarded = client.post(f"{BASE}/imports/{found['id']}/discard", headers=employer_headers).get_json()
    assert discarded["import"]["status"] == "discarded"
