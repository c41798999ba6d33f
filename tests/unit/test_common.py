"""The shared plumbing: events, money, validation, settings, the consumer and the error format."""

from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import ValidationError
from pydantic import ValidationError as SettingsError

from hall_common import db, validators
from hall_common.consumer import InvalidEvent, UnhandledEvent, consume
from hall_common.events import make_event, subscribers
from hall_common.money import monthly_amount, to_money
from hall_common.runtime import get_runtime
from hall_common.settings import Settings

from .conftest import make_app


def test_subscribers_resolve_the_owner_of_a_business() -> None:
    approved = make_event("workflow", "business.approved", {"owner": "member", "business_type": "base_adjust"})
    assert subscribers(approved) == ["member"]
    assert subscribers(make_event("employer", "business.submitted", {})) == ["workflow"]
    assert subscribers(make_event("employer", "unknown.event", {})) == []


def test_events_are_cloudevents() -> None:
    event = make_event("employer", "business.submitted", {"a": 1}, subject="employer_change/1")
    assert event["specversion"] == "1.0"
    assert event["source"] == "/hall/employer"
    assert event["time"].endswith("Z")
    assert event["subject"] == "employer_change/1"


def test_monthly_amount_rounds_each_part_half_up() -> None:
    assert monthly_amount(Decimal("6543.21"), Decimal("0.12"), Decimal("0.12")) == (
        Decimal("785.19"), Decimal("785.19"), Decimal("1570.38"),
    )
    assert monthly_amount(Decimal("6543.21"), Decimal("0.12"), Decimal("0.12"), Decimal("1")) == (
        Decimal("785"), Decimal("785"), Decimal("1570"),
    )
    assert to_money(Decimal("0.125")) == Decimal("0.13")  # round() would give 0.12
    with pytest.raises(TypeError):
        to_money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x"])
def test_valid_resident_ids(value: str) -> None:
    validators.id_number(value)


@pytest.mark.parametrize("value", ["110105194912310021", "11010519491331002X", "1101051949123100", "abc"])
def test_invalid_resident_ids(value: str) -> None:
    with pytest.raises(ValidationError, match="身份证号码不正确"):
        validators.id_number(value)


def test_credit_code_phone_and_postcode_rules() -> None:
    validators.credit_code("91350100M000100Y43")
    with pytest.raises(ValidationError, match="统一社会信用代码不正确"):
        validators.credit_code("91350100M000100Y44")
    for good in ("13912345678", "+8613912345678", "0351-1234567", "03517654321"):
        validators.phone(good)
    with pytest.raises(ValidationError, match="联系电话格式不正确"):
        validators.phone("12345")
    validators.postcode("030006")  # Shanxi postcodes start with 0
    with pytest.raises(ValidationError, match="邮政编码格式不正确"):
        validators.postcode("30006")


def test_settings_reject_bad_values_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_REDIS_URL", "http://wrong")
    with pytest.raises(SettingsError, match="redis_url"):
        Settings()
    monkeypatch.setenv("HALL_REDIS_URL", "redis://127.0.0.1:6391/0")
    monkeypatch.setenv("HALL_WORKER_SERVICES", "employer,billing")
    with pytest.raises(SettingsError, match="billing"):
        Settings()


def test_default_database_is_a_sqlite_file_per_service(hall_env: object) -> None:
    settings = Settings()
    assert settings.database_url("employer").endswith("/employer.db")
    assert settings.database_url("employer") != settings.database_url("member")


def test_consumer_refuses_a_non_cloudevent_and_an_unhandled_type() -> None:
    app = make_app("notify", seed=False)
    with app.app_context():
        with pytest.raises(InvalidEvent):
            consume({"type": "x"})
        event = make_event("employer", "something.else", {})
        with pytest.raises(UnhandledEvent, match="notify service has no handler for something.else"):
            consume(event)
        assert db.session().get(get_runtime().plumbing.processed, event["id"]) is None


def test_a_failing_handler_stores_nothing_and_can_run_again() -> None:
    app = make_app("notify", seed=False)
    broken = make_event("employer", "employer.info_changed", {"employer_no": "100100001"})  # fields missing
    with app.app_context():
        with pytest.raises(KeyError):
            consume(broken)
        fixed = dict(broken, data={
            "employer_no": "100100001", "employer_name": "某单位", "business_type": "employer_change",
            "business_id": "9", "title": "单位信息变更",
        })
        assert consume(fixed) == "processed"  # same id: the failed attempt was not recorded


def test_unknown_route_and_bad_json_use_the_one_error_format(employer_headers: dict[str, str]) -> None:
    app = make_app("employer")
    client = app.test_client()
    missing = client.get("/nowhere", headers=employer_headers)
    assert missing.status_code == 404
    assert missing.get_json() == {"code": 404, "status": "Not Found", "message": "记录不存在"}
    bad = client.post("/employers/100100001/change-requests", json={"changes": [{"field": "address"}]},
                      headers=employer_headers)
    assert bad.status_code == 422
    assert bad.get_json()["message"] == "不能为空"
    assert bad.get_json()["errors"]["json"]["changes"]["0"]["value"] == ["不能为空"]
