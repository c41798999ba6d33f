"""Prints anyone can verify: a print stating its document carries a code (and a QR code) that the public
lookup answers with the document's employer, kind, period, totals and issue time; an altered code, a
row changed after issue or a code signed with another key is refused; one employer's code never shows
another's document."""

from __future__ import annotations

import io
import re
import stat
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from marshmallow import Schema
from pypdf import PdfReader

from hall_common import db, migrate, prints, verify
from hall_common.app import create_service_app
from hall_common.errors import BusinessError
from hall_common.prints import Document, render_pdf
from hall_common.queries import QueryDef, query_blueprint
from hall_common.security import KeyProvider
from hall_common.settings import reset_settings
from hall_common.sheets import SheetColumn
from tests.threads import at_once

from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, AnyDb, auth, make_app, token_for

COLUMNS = (SheetColumn("serial_no", "业务流水号", "code"), SheetColumn("amount", "发生额", "money"))
ROWS = [{"serial_no": f"{i:010d}", "amount": "100.00"} for i in range(3)]
A = Document(EMPLOYER_NO, "太原市示例科技有限公司", "单位账户信息", "2025-07-01 至 2026-06-30",
             {"期末余额": "1,234,567.89", "未分配金额": "20,000.00"})
B = Document(OTHER_EMPLOYER_NO, "太原市第二示例有限公司", A.kind, A.period, dict(A.totals))
class NoFilters(Schema):
    pass


CODE = re.compile(r"验证码：([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})")


@pytest.fixture
def payment() -> Flask:
    return make_app("payment", seed=False)


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def printed(app: Flask, document: Document, rows: list[dict[str, Any]] = ROWS) -> tuple[str, list[str]]:
    with app.app_context():
        pages = text_of(render_pdf("单位账户信息", COLUMNS, rows, document=document))
    codes = set(CODE.findall("\n".join(pages)))
    assert len(codes) == 1, codes
    return codes.pop(), pages


def looked_up(app: Flask, code: str) -> Any:
    return app.test_client().get(f"/verifications/{code}")  # no token: anyone holding the print


def test_the_printed_code_shows_the_documents_employer_kind_period_totals_and_issue_time(payment: Flask) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    code, pages = printed(payment, A)
    assert code.startswith("P") and len(code.replace("-", "")) == verify.CODE_CHARS
    first = pages[0]
    for expected in ("单位：太原市示例科技有限公司（100100001）", "期间：2025-07-01 至 2026-06-30",
                     "期末余额：1,234,567.89", "签发时间：", "/verify 输入验证码"):
        assert expected in first
    answer = looked_up(payment, code)
    assert answer.status_code == 200
    found = answer.get_json()
    assert {k: found[k] for k in ("code", "employer_no", "employer_name", "kind", "period", "totals")} == {
        "code": code, "employer_no": EMPLOYER_NO, "employer_name": "太原市示例科技有限公司", "kind": "单位账户信息",
        "period": "2025-07-01 至 2026-06-30",
        "totals": [{"label": "期末余额", "value": "1,234,567.89"}, {"label": "未分配金额", "value": "20,000.00"}]}
    issued = datetime.fromisoformat(found["issued_at"])
    assert before <= issued <= datetime.now(UTC)
    printed_issue = re.search(r"签发时间：(\S+ \S+)", first)
    assert printed_issue and printed_issue.group(1) == issued.astimezone(prints.HALL_TIME).strftime("%Y-%m-%d %H:%M:%S")


def test_a_decimal_total_prints_and_verifies_as_printed(payment: Flask) -> None:
    document = Document(EMPLOYER_NO, A.employer_name, "对账单", A.period,
                        {"期末余额": Decimal("2152.08")})  # type: ignore[dict-item]
    code, pages = printed(payment, document)
    assert "期末余额：2152.08" in pages[0]
    assert looked_up(payment, code).get_json()["totals"] == [{"label": "期末余额", "value": "2152.08"}]


def test_every_page_carries_the_code(payment: Flask) -> None:
    rows = [{"serial_no": f"{i:010d}", "amount": "1.00"} for i in range(120)]
    code, pages = printed(payment, A, rows)
    assert len(pages) > 2
    assert all(f"验证码：{code}" in page for page in pages)


def test_the_qr_code_opens_the_public_verify_page_with_the_code(payment: Flask,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_PUBLIC_URL", "https://hall.example.cn")
    reset_settings()
    drawn: list[str] = []

    class Recording(prints.QrCodeWidget):  # type: ignore[misc]
        def __init__(self, value: str, **kw: Any) -> None:
            drawn.append(value)
            super().__init__(value, **kw)

    monkeypatch.setattr(prints, "QrCodeWidget", Recording)
    code, pages = printed(payment, A)
    assert drawn == [f"https://hall.example.cn/verify?code={code}"]
    assert "访问 https://hall.example.cn/verify 输入验证码" in pages[0]


def test_typed_codes_are_read_as_issued(payment: Flask) -> None:
    code, _ = printed(payment, A)
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert looked_up(payment, typed).get_json()["code"] == code


def test_an_altered_code_is_refused_whichever_character_changed(payment: Flask) -> None:
    code, _ = printed(payment, A)
    bare = code.replace("-", "")
    for position in range(1, verify.CODE_CHARS):
        other = next(c for c in "QR" if c != bare[position])
        altered = bare[:position] + other + bare[position + 1:]
        answer = looked_up(payment, altered)
        assert (answer.status_code, answer.get_json()["message"]) == (404, verify.NOT_FOUND), altered
    assert looked_up(payment, "E" + bare[1:]).status_code == 404  # another issuer's letter: not here


def test_a_row_changed_after_issue_no_longer_verifies(payment: Flask) -> None:
    code, _ = printed(payment, A)
    bare = code.replace("-", "")
    changes = ({"totals": '[["期末余额","9,234,567.89"],["未分配金额","20,000.00"]]'},
               {"employer_no": OTHER_EMPLOYER_NO}, {"employer_name": "太原市第二示例有限公司"},
               {"period": "2024-07-01 至 2025-06-30"}, {"kind": "对账单"},
               {"issued_at": datetime(2026, 1, 1, 8, 0, 0)})
    for change in changes:
        with payment.app_context():
            engine = db.get_db().engine
            table = sa.table("print_verifications", sa.column("code"), *(sa.column(k) for k in change))
            with engine.begin() as connection:
                original = connection.execute(sa.select(*(table.c[k] for k in change)).where(
                    table.c.code == bare)).one()
                connection.execute(sa.update(table).where(table.c.code == bare).values(change))
        answer = looked_up(payment, code)
        assert (answer.status_code, answer.get_json()["message"]) == (404, verify.NOT_FOUND), change
        with payment.app_context(), db.get_db().engine.begin() as connection:
            restored = dict(zip(change, original, strict=True))
            connection.execute(sa.update(table).where(table.c.code == bare).values(restored))
        assert looked_up(payment, code).status_code == 200


def test_a_code_signed_without_the_halls_key_is_refused(payment: Flask, tmp_path: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone able to write the table but not holding the key cannot plant a document: his row's code
    is signed with another key."""
    content = verify.content_of(EMPLOYER_NO, "太原市示例科技有限公司", "单位账户信息", A.period,
                                [("期末余额", "99,999,999.00")], datetime.now(UTC))
    monkeypatch.setenv("HALL_PRINT_SIGNING_KEY_FILE", str(tmp_path / "forger.key"))
    reset_settings()
    with payment.app_context():
        forged = verify.code_for(content)
        verify.record(forged, content)
    monkeypatch.delenv("HALL_PRINT_SIGNING_KEY_FILE")
    reset_settings()
    answer = looked_up(payment, forged)
    assert (answer.status_code, answer.get_json()["message"]) == (404, verify.NOT_FOUND)


def test_one_employers_code_never_shows_another_employers_document(payment: Flask) -> None:
    code_a, _ = printed(payment, A)
    code_b, _ = printed(payment, B)
    assert code_a != code_b
    assert looked_up(payment, code_a).get_json()["employer_no"] == EMPLOYER_NO
    assert looked_up(payment, code_b).get_json()["employer_no"] == OTHER_EMPLOYER_NO


def test_malformed_codes_are_refused_with_the_reason(payment: Flask) -> None:
    cases = {"": verify.EMPTY, " - ": verify.EMPTY, "P123": verify.BAD_FORMAT, "P" + "\x00" * 19: verify.BAD_FORMAT,
             "X" + "1" * 19: verify.BAD_FORMAT, "P" + "1" * 20: verify.BAD_FORMAT, "P" + "U" * 19: verify.BAD_FORMAT,
             "P" + "1" * 100_000: verify.BAD_FORMAT}
    for typed, message in cases.items():
        with pytest.raises(BusinessError) as caught:
            verify.normalize(typed)
        assert (caught.value.status, caught.value.message) == (422, message), typed[:30]
    answer = looked_up(payment, "P123")
    assert (answer.status_code, answer.get_json()["message"]) == (422, verify.BAD_FORMAT)


def test_the_same_document_recorded_at_once_by_ten_threads_is_one_row(any_db: AnyDb) -> None:
    payment = any_db.app("payment", lambda: make_app("payment", seed=False))
    content = verify.content_of(EMPLOYER_NO, A.employer_name, A.kind, A.period, list(A.totals.items()),
                                datetime.now(UTC))
    with payment.app_context():
        code = verify.code_for(content)
    results = at_once([lambda: verify.record(code, content) for _ in range(10)], payment)
    assert results == [None] * 10
    with payment.app_context(), db.get_db().engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM print_verifications")).scalar_one() == 1
    assert looked_up(payment, code).status_code == 200


def test_the_key_is_made_once_readable_only_by_its_owner_even_when_processes_race(payment: Flask) -> None:
    keys = at_once([verify.signing_key for _ in range(10)])
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    path = verify.key_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if "print_signing_key" in p.name] == ["print_signing_key"]


def test_a_print_without_a_document_has_no_code_and_stores_nothing(payment: Flask) -> None:
    with payment.app_context():
        pages = text_of(render_pdf("单位账户信息", COLUMNS, ROWS))
        with db.get_db().engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT COUNT(*) FROM print_verifications")).scalar_one()
    assert "验证码" not in "\n".join(pages) and stored == 0


def test_a_print_that_fails_stores_no_code(payment: Flask) -> None:
    with payment.app_context(), pytest.raises(BusinessError):
        render_pdf("单位账户信息", COLUMNS, ROWS, max_rows=2, document=A)
    with payment.app_context(), db.get_db().engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM print_verifications")).scalar_one() == 0


def test_a_querys_print_states_its_document_and_its_code_verifies() -> None:
    """The path the money prints take: a QueryDef stating its document, printed by its print route."""
    from services.auth.keys import public_key_pem
    from services.payment import RUNTIME, verifications

    journal = QueryDef(
        name="journal", title="业务流水", permission="employer_query", filters=NoFilters, columns=COLUMNS,
        fetch=lambda employer_no, filters, page, per_page: (ROWS, len(ROWS)),
        iterate=lambda employer_no, filters: iter(ROWS),
        document=lambda employer_no, filters: Document(employer_no, "太原市示例科技有限公司", "业务流水",
                                                       "2026-01-01 至 2026-06-30", {"发生额合计": "300.00"}))
    migrate.upgrade("payment")
    app = create_service_app(RUNTIME, [query_blueprint("payment", [journal]), verifications.blp], {"TESTING": True},
                             keys=KeyProvider(public_key_pem()))
    answer = app.test_client().get(f"/employers/{EMPLOYER_NO}/queries/journal/print", headers=auth(token_for()))
    assert answer.status_code == 200
    code = CODE.search(text_of(answer.data)[0])
    assert code
    found = looked_up(app, code.group(1)).get_json()
    assert (found["employer_no"], found["kind"], found["totals"]) == (
        EMPLOYER_NO, "业务流水", [{"label": "发生额合计", "value": "300.00"}])
