"""The notify service: messages from domain events, view, mark read, delete, employer scope."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import make_app

BASE = "/employers/100100001"


@pytest.fixture
def app() -> Flask:
    app = make_app("notify")
    data = {"employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
            "business_type": "employer_change", "business_id": "1", "title": "单位信息变更", "opinion": "材料不全"}
    with app.app_context():
        consume(make_event("employer", "employer.info_changed", data))
        consume(make_event("employer", "employer.info_change_rejected", dict(data, business_id="2")))
    return app


def test_messages_are_written_from_domain_events(app: Flask, employer_headers: dict[str, str]) -> None:
    page = app.test_client().get(f"{BASE}/inbox/message", headers=employer_headers).get_json()
    assert page["total"] == 2
    contents = [item["content"] for item in page["items"]]
    assert contents == [
        "尊敬的太原市示例科技有限公司，您提交的单位信息变更业务未通过中心审核。审批意见：材料不全",
        "尊敬的太原市示例科技有限公司，您已完成办理单位信息变更！",
    ]
    counts = app.test_client().get(f"{BASE}/inbox-counts", headers=employer_headers).get_json()
    assert counts == {"message": 2, "todo": 0, "done": 0, "initiated": 0, "read": 0}


def test_mark_read_moves_the_message_and_delete_removes_it(app: Flask, employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    item_id = client.get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"][0]["id"]
    read = client.post(f"{BASE}/inbox-items/{item_id}/read", headers=employer_headers)
    assert read.get_json()["message"] == "已标为已阅"
    assert client.get(f"{BASE}/inbox/read", headers=employer_headers).get_json()["total"] == 1
    assert client.get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["total"] == 1
    deleted = client.delete(f"{BASE}/inbox-items/{item_id}", headers=employer_headers)
    assert deleted.get_json()["message"] == "消息已删除"
    gone = client.get(f"{BASE}/inbox-items/{item_id}", headers=employer_headers)
    assert gone.status_code == 404
    assert gone.get_json()["message"] == "消息不存在或已删除"


def test_another_employer_sees_nothing(app: Flask, other_employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get(f"{BASE}/inbox/message", headers=other_employer_headers).status_code == 403
    own = client.get("/employers/200200002/inbox/message", headers=other_employer_headers).get_json()
    assert own["total"] == 0
    # Guessing an item id of employer 100100001 through one's own path finds nothing.
    assert client.get("/employers/200200002/inbox-items/1", headers=other_employer_headers).status_code == 404
    assert client.delete("/employers/200200002/inbox-items/1", headers=other_employer_headers).status_code == 404


def test_center_may_read_an_inbox_but_not_mark_or_delete(
    app: Flask, center_headers: dict[str, str], employer_headers: dict[str, str]
) -> None:
    client = app.test_client()
    page = client.get(f"{BASE}/inbox/message", headers=center_headers).get_json()
    assert page["total"] == 2
    item_id = page["items"][0]["id"]
    assert client.get(f"{BASE}/inbox-items/{item_id}", headers=center_headers).status_code == 200
    for refused in (client.post(f"{BASE}/inbox-items/{item_id}/read", headers=center_headers),
                    client.delete(f"{BASE}/inbox-items/{item_id}", headers=center_headers)):
        assert refused.status_code == 403
        assert refused.get_json()["message"] == "该业务只能由单位经办人办理"
    # Nothing changed for the employer: the message is still unread and present.
    counts = client.get(f"{BASE}/inbox-counts", headers=employer_headers).get_json()
    assert (counts["message"], counts["read"]) == (2, 0)


def _clicks(app: Flask, method: str, path: str, headers: dict[str, str], n: int = 10) -> list[tuple[int, str]]:
    barrier = threading.Barrier(n)
    answers: list[tuple[int, str]] = []

    def click() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.open(path, method=method, headers=headers)
        answers.append((response.status_code, response.get_json()["message"]))

    threads = [threading.Thread(target=click) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def test_ten_simultaneous_clicks_mark_read_and_delete_once(app: Flask, employer_headers: dict[str, str]) -> None:
    item_id = app.test_client().get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"][0]["id"]
    path = f"{BASE}/inbox-items/{item_id}"
    assert _clicks(app, "POST", f"{path}/read", employer_headers) == (
        [(200, "已标为已阅")] + [(409, "只有消息可以标为已阅")] * 9
    )
    assert _clicks(app, "DELETE", path, employer_headers) == [(200, "消息已删除")] + [(404, "消息不存在或已删除")] * 9
