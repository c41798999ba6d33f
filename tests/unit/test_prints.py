"""打印: the PDF carries its Chinese text in an embedded font, prints cell text as typed, numbers its
pages, and refuses a print too long to be useful."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from hall_common.errors import BusinessError
from hall_common.prints import render_pdf
from hall_common.sheets import SheetColumn

COLUMNS = (SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
           SheetColumn("open_date", "开户日期", "date"), SheetColumn("balance", "账户余额", "money"),
           SheetColumn("note", "备注", width=40))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_has_the_chinese_title_caption_and_cells_in_an_embedded_font() -> None:
    rows = [{"member_no": "000123", "name": "张三", "open_date": date(2024, 1, 5), "balance": Decimal("1234.50"),
             "note": "住房公积金缴存"}]
    pdf = render_pdf("缴存人账户信息", COLUMNS, rows, caption=["开户日期：2024-01-01 至 2024-12-31"])
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in ("缴存人账户信息", "开户日期：2024-01-01 至 2024-12-31", "个人账号", "张三", "2024-01-05",
                     "1234.50", "住房公积金缴存", "第 1 页 共 1 页", "打印时间："):
        assert expected in text
    # Embedded TrueType outlines: a PC without Chinese fonts still shows the glyphs, not boxes.
    assert b"/FontFile2" in pdf
    assert b"STSong" not in pdf


def test_markup_in_cells_prints_literally() -> None:
    rows = [{"member_no": "1", "name": "<b>x</b>", "note": "<font color='red'>注意</font> & <br/>" * 8}]
    text = text_of(render_pdf("缴存人账户信息", COLUMNS, rows))
    assert "<b>x</b>" in text
    assert "<font color='red'>注意</font>" in text.replace("\n", "") and "&" in text


def test_long_lists_are_paged_with_the_total() -> None:
    rows = [{"member_no": f"{i:06d}", "name": "张三", "balance": Decimal("1.00")} for i in range(200)]
    pdf = render_pdf("缴存人账户信息", COLUMNS, rows)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 2
    last = pages[-1].extract_text()
    assert f"第 {len(pages)} 页 共 {len(pages)} 页" in last
    assert "个人账号" in last  # the header row is repeated on every page
    assert "000199" in last and "共 200 条" in pages[0].extract_text()


def test_a_print_beyond_the_limit_is_refused() -> None:
    rows = ({"member_no": str(i)} for i in range(11))
    with pytest.raises(BusinessError) as caught:
        render_pdf("缴存人账户信息", COLUMNS, rows, max_rows=10)
    assert (caught.value.status, caught.value.message) == (422, "打印内容超过10条，请缩小查询范围后打印")
    assert render_pdf("缴存人账户信息", COLUMNS, [{"member_no": str(i)} for i in range(10)], max_rows=10)


def test_a_missing_font_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("HALL_PDF_FONT_PATH", "/nonexistent/font.ttc")
    from hall_common.settings import reset_settings

    reset_settings()
    with pytest.raises(BusinessError) as caught:
        render_pdf("缴存人账户信息", COLUMNS, [])
    assert caught.value.status == 503 and "字体" in caught.value.message
