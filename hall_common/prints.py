"""打印: a query's rows as a PDF (reportlab), A4 landscape, with Chinese text that prints anywhere.

A print that states its document (``Document``) carries a verification code anyone can check on the
hall's public /verify page (hall_common.verify).

reportlab's built-in CJK fonts are not embedded, so a PC without them shows boxes: the TrueType WQY
Micro Hei (``settings.pdf_font_path``) is embedded instead, subset to the glyphs used. Cell text goes
into Paragraphs escaped, so "<b>" in a member's name prints as typed and cannot break the layout.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import verify
from .errors import BusinessError
from .settings import get_settings
from .sheets import SheetColumn
from .verify import HALL_TIME


@dataclass(frozen=True)
class Document:
    """What a print states about itself, for the public verification page: whose it is, what kind of
    document, which period, and its totals (label -> printed value). A print given one carries a
    verification code and its QR code (hall_common.verify, docs/prints.md); the service rendering it
    must keep verifications (``verify.PrintVerificationMixin``)."""

    employer_no: str
    employer_name: str
    kind: str  # 对账单, 利息单, 明细账, 单位账户信息, 业务流水, ...
    period: str  # "2025-07-01 至 2026-06-30"
    totals: Mapping[str, str] = field(default_factory=dict)


FONT = "WQYMicroHei"
PAGE = landscape(A4)
MARGIN = 12 * mm
BODY_SIZE = 9
CELL_PADDING = 3
QR_SIZE = 28 * mm
FONT_MISSING = "打印服务暂不可用（服务器缺少中文字体），请联系中心"


@lru_cache(maxsize=4)
def _register_font(path: str) -> str:
    if not Path(path).is_file():
        raise BusinessError(FONT_MISSING, 503)
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
    return FONT


def render_pdf(title: str, columns: Sequence[SheetColumn], rows: Iterable[Mapping[str, Any]], *,
               caption: Sequence[str] = (), max_rows: int = 5000, document: Document | None = None) -> bytes:
    font = _register_font(str(get_settings().pdf_font_path))
    texts: list[list[str]] = []
    for row in rows:  # bounded: a print of a whole history would take minutes and hundreds of pages
        if len(texts) >= max_rows:
            raise BusinessError(f"打印内容超过{max_rows}条，请缩小查询范围后打印", 422)
        texts.append([cell_text(row.get(c.key)) for c in columns])
    issued = datetime.now(UTC).replace(microsecond=0)
    printed_at = issued.astimezone(HALL_TIME).strftime("%Y-%m-%d %H:%M")
    buffer = io.BytesIO()
    layout = SimpleDocTemplate(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                               topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=title, author="单位网上服务大厅")
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    caption_style = ParagraphStyle("caption", fontName=font, fontSize=10, leading=14)
    story: list[Any] = [Paragraph(escape(title), title_style), Spacer(1, 3 * mm)]
    content, code, stamp = None, "", ""
    if document is not None:
        # As printed and as the verify page shows them: a Decimal total prints like a cell, never raises.
        totals = [(str(label), cell_text(value)) for label, value in document.totals.items()]
        caption = [f"单位：{document.employer_name}（{document.employer_no}）", f"期间：{document.period}",
                   *caption, *(f"{label}：{value}" for label, value in totals)]
        content = verify.content_of(document.employer_no, document.employer_name, document.kind, document.period,
                                    totals, issued)
        code = verify.code_for(content)
        stamp = f"验证码：{verify.display(code)}"
        lines = [*caption, f"签发时间：{issued.astimezone(HALL_TIME).strftime('%Y-%m-%d %H:%M:%S')}", stamp,
                 f"核验方式：扫描右侧二维码，或访问 {get_settings().public_url}/verify 输入验证码"]
        story.append(_with_qr([Paragraph(escape(line), caption_style) for line in lines], verify.verify_url(code),
                              layout.width))
    else:
        story += [Paragraph(escape(line), caption_style) for line in caption]
    story += [Paragraph(escape(f"共 {len(texts)} 条"), caption_style), Spacer(1, 2 * mm)]
    story.append(_table(columns, texts, font, layout.width))

    def footer(canvas: Canvas, page: int, pages: int) -> None:
        canvas.setFont(font, 8)
        canvas.drawString(MARGIN, MARGIN - 2 * mm, f"打印时间：{printed_at}")
        if stamp:  # every page names its document: a page alone can be verified
            canvas.drawCentredString(PAGE[0] / 2, MARGIN - 2 * mm, stamp)
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN - 2 * mm, f"第 {page} 页 共 {pages} 页")

    layout.build(story, canvasmaker=lambda *a, **k: _NumberedCanvas(footer, *a, **k))
    if content is not None:  # stored only once the print carrying the code exists
        verify.record(code, content)
    return buffer.getvalue()


def _with_qr(lines: list[Paragraph], url: str, width: float) -> Table:
    """The document's lines with the QR code that opens its verification beside them."""
    widget = QrCodeWidget(url, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    side = QR_SIZE
    drawing = Drawing(side, side, transform=[side / (right - left), 0, 0, side / (top - bottom), 0, 0])
    drawing.add(widget)
    table = Table([[lines, drawing]], colWidths=[width - side - 4 * mm, side + 4 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return table


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _table(columns: Sequence[SheetColumn], texts: list[list[str]], font: str, width: float) -> LongTable:
    total = sum(c.width for c in columns) or 1
    widths = [width * c.width / total for c in columns]
    header_style = ParagraphStyle("head", fontName=font, fontSize=BODY_SIZE, leading=BODY_SIZE + 3, alignment=1,
                                  wordWrap="CJK")
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=BODY_SIZE, leading=BODY_SIZE + 3, wordWrap="CJK")
    data: list[list[Any]] = [[Paragraph(escape(c.label), header_style) for c in columns]]
    room = [w - 2 * CELL_PADDING for w in widths]
    for texts_row in texts:
        # A short text is drawn as it is (fast, and never read as markup); only what must wrap is a Paragraph.
        data.append([
            Paragraph(escape(text), cell_style)
            if "\n" in text or pdfmetrics.stringWidth(text, font, BODY_SIZE) > room[i] else text
            for i, text in enumerate(texts_row)
        ])
    right = [i for i, c in enumerate(columns) if c.kind in ("money", "ratio")]
    style = [
        ("FONT", (0, 0), (-1, -1), font, BODY_SIZE),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in right]
    return LongTable(data, colWidths=widths, repeatRows=1, style=TableStyle(style))


class _NumberedCanvas(Canvas):
    """Holds every page until the end, so each footer can say how many pages there are."""

    def __init__(self, footer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()
