"""Hostile input is refused at the door with a clear 4xx naming the field, never a 500."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError

from hall_common.consumer import consume
from hall_common.events import make_event
from services.employer.schemas import ChangeRowSchema
from services.workflow.schemas import CompleteSchema

from .conftest import EMPLOYER_NO, make_app

EMPLOYER = f"/employers/{EMPLOYER_NO}"


@pytest.fixture
def employer() -> Flask:
    return make_app("employer")


@pytest.fixture
def notify() -> Flask:
    app = make_app("notify")
    data = {"employer_no": EMPLOYER_NO, "employer_name": "太原市示例科技有限公司",
            "business_type": "employer_change", "business_id": "1", "title": "单位信息变更"}
    with app.app_context():
        consume(make_event("employer", "employer.info_changed", data))
    return app


def post_raw(app: Flask, path: str, body: bytes | str, headers: dict[str, str]) -> Any:
    return app.test_client().post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def readable(response: Any) -> dict[str, Any]:
    """The answer is valid UTF-8 JSON in the shared error format (a surrogate would make it unencodable)."""
    body: dict[str, Any] = json.loads(response.get_data().decode("utf-8"))
    assert set(body) >= {"code", "status", "message"}
    return body


@pytest.mark.parametrize("value", ["太原\x00市", "a\x1bb", "line\nbreak", "tab\there", "del\x7f"])
def test_control_characters_in_a_roster_value_are_refused_naming_the_field(
    employer: Flask, employer_headers: dict[str, str], value: str
) -> None:
    rows = [{"field": "address", "value": value}]
    response = employer.test_client().post(f"{EMPLOYER}/change-requests", json={"changes": rows},
                                           headers=employer_headers)
    assert response.status_code == 422
    body = readable(response)
    assert body["errors"]["json"]["changes"]["0"]["value"] == ["不能包含控制字符"]


def test_a_lone_surrogate_in_a_value_or_a_field_name_is_refused(
    employer: Flask, employer_headers: dict[str, str]
) -> None:
    in_value = post_raw(employer, f"{EMPLOYER}/change-requests",
                        '{"changes": [{"field": "address", "value": "\\ud800x"}]}', employer_headers)
    assert in_value.status_code == 422
    assert readable(in_value)["errors"]["json"]["changes"]["0"]["value"] == ["含有无效字符"]

    in_name = post_raw(employer, f"{EMPLOYER}/change-requests",
                       '{"changes": [{"field": "address", "value": "x", "\\udc00bad": 1}]}', employer_headers)
    assert in_name.status_code == 422
    body = readable(in_name)
    assert body["errors"]["json"]["changes"]["0"] == {"\\udc00bad": ["字段名称含有控制字符或无效字符"]}
    assert body["message"] == "changes.0.\\udc00bad：字段名称含有控制字符或无效字符"


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_refused(employer: Flask, employer_headers: dict[str, str], depth: int) -> None:
    response = post_raw(employer, f"{EMPLOYER}/change-requests", "[" * depth + "]" * depth, employer_headers)
    assert response.status_code == 422
    assert readable(response)["message"] == "数据嵌套层数过多（最多32层）"


def test_a_body_over_the_limit_answers_413(monkeypatch: pytest.MonkeyPatch, employer_headers: dict[str, str]) -> None:
    monkeypatch.setenv("HALL_MAX_BODY_BYTES", "4096")
    from hall_common.settings import reset_settings

    reset_settings()
    app = make_app("employer")
    rows = [{"field": "address", "value": "太原市" * 10}] * 100
    response = app.test_client().post(f"{EMPLOYER}/change-requests", json={"changes": rows}, headers=employer_headers)
    assert response.status_code == 413
    assert readable(response)["message"] == "提交的数据过大"


@pytest.mark.parametrize("query", ["page=10000000000000000000", "page=2147483648", "page=0", "per_page=0",
                                   "per_page=201", "page=1000001", "page=-1"])
def test_paging_parameters_are_bounded(notify: Flask, employer_headers: dict[str, str], query: str) -> None:
    response = notify.test_client().get(f"{EMPLOYER}/inbox/message?{query}", headers=employer_headers)
    assert response.status_code == 422
    assert readable(response)["message"] in {"页码应为1到1000000之间的整数", "每页条数应为1到200之间的整数", "数值过大"}


def test_control_characters_in_a_query_string_are_refused(notify: Flask, employer_headers: dict[str, str]) -> None:
    response = notify.test_client().get(f"{EMPLOYER}/inbox/message?page=1&x=%00", headers=employer_headers)
    assert response.status_code == 422
    assert readable(response)["errors"] == {"query": {"x": ["不能包含控制字符"]}}


@pytest.mark.parametrize("path", [
    "/employers/1001%0000001/inbox/message",
    "/employers/100100001/inbox/mes%00sage",
    "/employers/100100001/inbox-items/99999999999999999999",
    "/employers/100100001/inbox-items/2147483648",  # PostgreSQL INTEGER overflows here
])
def test_hostile_path_parameters_answer_404(notify: Flask, employer_headers: dict[str, str], path: str) -> None:
    response = notify.test_client().get(path, headers=employer_headers)
    assert response.status_code == 404
    readable(response)


def test_timestamps_are_answered_with_their_zone(notify: Flask, employer_headers: dict[str, str]) -> None:
    item = notify.test_client().get(f"{EMPLOYER}/inbox/message", headers=employer_headers).get_json()["items"][0]
    stamp = datetime.fromisoformat(item["created_at"])
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert item["created_at"].endswith("+00:00")


def test_a_textarea_may_hold_several_lines_but_not_a_nul() -> None:
    opinion = "材料不全\r\n\t请补充"
    assert CompleteSchema().load({"decision": "reject", "opinion": opinion})["opinion"] == opinion
    with pytest.raises(ValidationError, match="不能包含控制字符"):
        CompleteSchema().load({"decision": "reject", "opinion": "材料\x00不全"})
    with pytest.raises(ValidationError, match="不能包含控制字符"):
        ChangeRowSchema().load({"field": "address", "value": "两行\n地址"})
