"""The public /verify page: no login, the code typed or from the QR code's ?code=, the document shown as
the payment service issued it, an altered or malformed code refused with the reason, huge or hostile
input refused before any service is asked, and the page rate limited per client address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from hall_common import verify
from hall_common.client import ServiceClient, ServiceError
from hall_common.prints import Document, render_pdf
from hall_common.settings import reset_settings
from hall_common.sheets import SheetColumn

from .conftest import EMPLOYER_NO, make_app
from .homecache_support import RedisServer, redis_server
from .test_verify import CODE, text_of

__all__ = ["redis_server"]  # a fixture used below

DOCUMENT = Document(EMPLOYER_NO, "太原市示例科技有限公司", "业务流水", "2026-01-01 至 2026-06-30",
                    {"发生额合计": "36,000.00"})


@pytest.fixture
def payment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The payment service, which the gateway's calls reach through its test client; every call is noted."""
    app = make_app("payment", seed=False)
    client = app.test_client()
    asked: list[str] = []

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        assert (self.service, method, self.headers) == ("payment", "GET", {})  # public: no token to lend
        asked.append(path)
        response = client.open(path, method=method)
        body = response.get_json()
        if response.status_code >= 400:
            raise ServiceError("payment", response.status_code, body.get("message", ""), body.get("errors"))
        return body

    monkeypatch.setattr(ServiceClient, "request", request)
    app.config["asked"] = asked
    yield app


def issued(app: Flask) -> str:
    with app.app_context():
        pdf = render_pdf("业务流水", (SheetColumn("serial_no", "业务流水号", "code"),), [{"serial_no": "1"}],
                         document=DOCUMENT)
    found = CODE.search(text_of(pdf)[0])
    assert found
    return found.group(1)


def visitor() -> FlaskClient:
    return create_app().test_client()  # CSRF on, no session: anyone on the internet


def message(page: str) -> str:
    found = re.search(r'id="verify-message">([^<]*)<', page)
    return found.group(1) if found else ""


def test_the_qr_codes_address_shows_the_document_without_a_login(payment: Flask) -> None:
    code = issued(payment)
    answer = visitor().get(f"/verify?code={code}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    for expected in ("验证通过", f'id="verify-code">{code}<', 'id="verify-employer-name">太原市示例科技有限公司<',
                     f'id="verify-employer-no">{EMPLOYER_NO}<', 'id="verify-kind">业务流水<',
                     'id="verify-period">2026-01-01 至 2026-06-30<', "<dt>发生额合计</dt>",
                     'class="verify-total">36,000.00<'):
        assert expected in page, expected
    assert re.search(r'id="verify-issued-at">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<', page)
    assert message(page) == ""


def test_a_typed_code_is_read_as_the_person_typed_it(payment: Flask) -> None:
    code = issued(payment)
    page = visitor().get("/verify", query_string={"code": f" {code.lower().replace('-', ' ')} "}).get_data(as_text=True)
    assert f'id="verify-code">{code}<' in page


def test_the_empty_form_asks_for_the_code(payment: Flask) -> None:
    page = visitor().get("/verify")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    empty = visitor().get("/verify?code=")
    assert (empty.status_code, message(empty.get_data(as_text=True))) == (422, verify.EMPTY)
    assert payment.config["asked"] == []


def test_an_altered_code_is_refused_with_the_manuals_wording(payment: Flask) -> None:
    code = issued(payment)
    altered = code[:-1] + ("Q" if code[-1] != "Q" else "R")
    answer = visitor().get(f"/verify?code={altered}")
    page = answer.get_data(as_text=True)
    assert (answer.status_code, message(page)) == (404, verify.NOT_FOUND)
    assert "验证通过" not in page and "太原市示例科技有限公司" not in page
    assert payment.config["asked"] == [f"/verifications/{altered.replace('-', '')}"]


# Percent-encoded as a browser sends them: NUL, a lone surrogate's UTF-8 bytes (invalid), a megabyte.
@pytest.mark.parametrize("typed", ["P123-4567", "P" + "%00" * 19, "PABC-DEF%00-1234-5678-9ABC", "P" + "%ED%A0%80" * 19,
                                   "X" + "1" * 19, "P" + "1" * 2_000_000])
def test_malformed_hostile_or_huge_codes_are_refused_before_any_service_is_asked(payment: Flask, typed: str) -> None:
    answer = visitor().get("/verify", query_string=f"code={typed}")
    page = answer.get_data(as_text=True)
    assert (answer.status_code, message(page)) == (422, verify.BAD_FORMAT)
    assert len(page) < 20_000  # a huge input is not echoed back
    assert payment.config["asked"] == []


def test_a_twenty_megabyte_body_is_refused_unread(payment: Flask) -> None:
    """The form is a GET (the QR code's address is the same request): a posted body is refused
    without being read, and a body sent along with a GET is never looked at."""
    body = {"code": "P" * 20 * 1024 * 1024}
    posted = visitor().post("/verify", data=body)
    assert posted.status_code == 405 and "不支持该操作方式" in posted.get_data(as_text=True)
    with_get = visitor().open("/verify", method="GET", data=body)
    assert with_get.status_code == 200 and 'id="verify-result"' not in with_get.get_data(as_text=True)
    assert payment.config["asked"] == []


def test_the_page_is_rate_limited_per_client_address(payment: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_VERIFY_LIMIT_PER_ADDRESS", "3 per minute")
    reset_settings()
    code = issued(payment)
    client = visitor()
    statuses = [client.get(f"/verify?code={code}", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(f"/verify?code={code}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert message(refused.get_data(as_text=True)) == "验证请求过于频繁，请稍后再试"
    assert client.get(f"/verify?code={code}", environ_base={"REMOTE_ADDR": "198.51.100.2"}).status_code == 200
    assert len(payment.config["asked"]) == 4  # the refused ones asked nothing


def test_the_rate_limit_is_shared_by_every_gateway_process_and_survives_redis_going_down(
        payment: Flask, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> None:
    monkeypatch.setenv("HALL_VERIFY_LIMIT_PER_ADDRESS", "4 per minute")
    reset_settings()
    first, second = visitor(), visitor()  # two gateway processes
    statuses = [client.get("/verify").status_code for client in (first, second, first, second, first, second)]
    assert statuses == [200] * 4 + [429] * 2
    redis_server.stop()
    third = visitor()  # Redis gone: each process counts alone, and the page still answers
    assert [third.get("/verify").status_code for _ in range(5)] == [200] * 4 + [429]


def test_the_lookup_is_declared_public_in_the_payment_services_api(payment: Flask) -> None:
    spec = payment.test_client().get("/openapi.json").get_json()
    assert spec["paths"]["/verifications/{code}"]["get"]["x-access"] == ["public"]
