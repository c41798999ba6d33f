"""Pushes: the center and downstream systems send a message to one employer, a list or all."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from services.notify import push

from ..threads import at_once
from .conftest import auth, make_app, token_for
from .push_support import DIRECTORY, A, B, body, fake_directory, inbox


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(push, "directory", fake_directory)
    return make_app("notify")


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The broadcast batches the request queued (the Celery task itself runs in the integration test)."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(push, "schedule", lambda push_id, cursor: sent.append((push_id, cursor)))
    return sent



class Headers:
    """Tokens are signed with each test's own key: made on use."""

    def __getattr__(self, name: str) -> dict[str, str]:
        if name == "center":
            return auth(token_for("center", None))
        if name == "downstream":
            return auth(token_for("service", None, perms=("push",), login_name="core-accounting"))
        raise AttributeError(name)


H = Headers()


def test_the_center_pushes_to_one_employer_with_its_channel(app: Flask) -> None:
    sent = app.test_client().post("/pushes", json=body(), headers=H.center)
    assert sent.status_code == 202
    assert sent.get_json()["message"] == "已推送至1个单位"
    page = inbox(app, A)
    assert page["total"] == 1 and page["counts"]["message"] == 1
    item = page["items"][0]
    assert (item["title"], item["content"], item["channel"]) == ("缴存提醒", "请于本月25日前完成汇缴。", "短信")
    # The message's detail shows the channel too (查看), and B received nothing.
    detail = app.test_client().get(f"/employers/{A}/inbox-items/{item['id']}", headers=auth(token_for())).get_json()
    assert detail["channel"] == "短信"
    assert inbox(app, B)["total"] == 0


def test_a_list_reaches_each_employer_once(app: Flask) -> None:
    sent = app.test_client().post("/pushes", json=body(target="list", employer_nos=[A, B, A]), headers=H.center)
    assert sent.status_code == 202 and sent.get_json()["push"]["stored"] == 2
    assert inbox(app, A)["total"] == 1 and inbox(app, B)["total"] == 1


def test_a_list_of_a_thousand_is_checked_in_short_calls(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def counting(**params: Any) -> dict[str, Any]:
        asked.append(len(params.get("employer_no") or []))
        return fake_directory(**params)

    monkeypatch.setattr(push, "directory", counting)
    sent = app.test_client().post("/pushes", json=body(target="list", employer_nos=DIRECTORY[:1000]), headers=H.center)
    assert sent.status_code == 202 and sent.get_json()["push"]["stored"] == 1000
    assert asked == [100] * 10  # each call's query string fits a request line
    assert inbox(app, DIRECTORY[999])["total"] == 1


def test_unknown_employers_are_named_and_nothing_is_stored(app: Flask) -> None:
    sent = app.test_client().post("/pushes", json=body(target="list", employer_nos=[A, "999999999"]), headers=H.center)
    assert sent.status_code == 422
    assert sent.get_json()["message"] == "单位账号不存在：999999999"
    assert inbox(app, A)["total"] == 0
    listed = app.test_client().get("/pushes", headers=H.center).get_json()
    assert listed["total"] == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"channel": "电报"}, "channel", "应为网上服务大厅、短信、微信、柜面之一"),
    ({"target": "one", "employer_nos": [A, B]}, "employer_nos", "推送给单个单位时应填写一个单位账号"),
    ({"target": "all", "employer_nos": [A]}, "employer_nos", "推送给全部单位时不填写单位账号"),
    ({"title": "x" * 101}, "title", "应为1到100个字"),
    ({"content": "a\x00b"}, "content", "不能包含控制字符"),
    ({"client_key": "short"}, "client_key", "应为8到64位字母、数字或._:-"),
])
def test_bad_pushes_name_the_field(app: Flask, changes: dict[str, Any], field: str, message: str) -> None:
    sent = app.test_client().post("/pushes", json=body(**changes), headers=H.center)
    assert sent.status_code == 422
    assert message in sent.get_json()["errors"]["json"][field]


def test_a_retried_request_stores_once_and_a_reused_key_is_refused(app: Flask) -> None:
    client = app.test_client()
    first = client.post("/pushes", json=body(), headers=H.downstream)
    again = client.post("/pushes", json=body(), headers=H.downstream)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["message"] == "该推送已受理，未重复推送"
    assert again.get_json()["push"]["id"] == first.get_json()["push"]["id"]
    assert inbox(app, A)["total"] == 1
    other = client.post("/pushes", json=body(content="另一条消息"), headers=H.downstream)
    assert other.status_code == 409 and other.get_json()["message"] == "推送编号已用于另一条消息，请更换推送编号"
    # The key belongs to its sender: the center's request with the same key is a push of its own.
    assert client.post("/pushes", json=body(), headers=H.center).status_code == 202
    assert inbox(app, A)["total"] == 2


def test_a_retry_from_a_sender_with_a_long_name_is_the_same_push(app: Flask) -> None:
    """The sender is stored in 50 characters; a longer name's retry looked for its full name, found
    nothing, lost the insert to its own first row and was a 500 (tokens issued before names were bounded)."""
    long_name = auth(token_for("service", None, perms=("push",), login_name="system-" + "x" * 60))
    client = app.test_client()
    first = client.post("/pushes", json=body(), headers=long_name)
    again = client.post("/pushes", json=body(), headers=long_name)
    assert (first.status_code, again.status_code) == (202, 200), again.get_json()
    assert again.get_json()["push"]["id"] == first.get_json()["push"]["id"]
    assert inbox(app, A)["total"] == 1


def test_ten_simultaneous_retries_store_one_push(app: Flask) -> None:
    def send() -> int:
        return app.test_client().post("/pushes", json=body(target="list", employer_nos=[A, B]),
                                      headers=H.downstream).status_code

    statuses = at_once([send] * 10)
    assert sorted(statuses) == [200] * 9 + [202]
    assert inbox(app, A)["total"] == 1 and inbox(app, B)["total"] == 1


def test_a_downstream_token_pushes_but_reads_nothing(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/pushes", json=body(), headers=H.downstream).status_code == 202
    for path in (f"/employers/{A}/inbox/message", f"/employers/{A}/inbox-counts", f"/employers/{A}/inbox-items/1"):
        assert client.get(path, headers=H.downstream).status_code in (403, 404), path
    assert client.delete(f"/employers/{A}/inbox-items/1", headers=H.downstream).status_code in (403, 404)
    # A service token without the push permission, and an employer's operator, may not push.
    lister = auth(token_for("service", None, perms=("employer_list",), login_name="notify"))
    for headers in (lister, auth(token_for())):
        refused = client.post("/pushes", json=body(client_key="req-0002"), headers=headers)
        assert refused.status_code == 403 and refused.get_json()["message"] == "当前账号无权进行该操作"


def test_a_broadcast_answers_at_once_and_its_batches_store_every_employer_once(
    app: Flask, queued: list[tuple[int, str]]
) -> None:
    sent = app.test_client().post("/pushes", json=body(target="all", employer_nos=[]), headers=H.center)
    assert sent.status_code == 202
    result = sent.get_json()
    assert result["message"] == "已受理，正在推送"
    assert (result["push"]["status"], result["push"]["stored"]) == ("storing", 0)
    assert inbox(app, A)["total"] == 0  # nothing stored in the request
    push_id = result["push"]["id"]
    assert queued == [(push_id, "")]
    with app.app_context():
        cursor: str | None = ""
        batches = 0
        while cursor is not None:
            following = push.store_batch(push_id, cursor)
            assert push.store_batch(push_id, cursor) is None  # the same batch again (a redelivery): nothing
            cursor, batches = following, batches + 1
    assert batches == 3
    state = app.test_client().get(f"/pushes/{push_id}", headers=H.center).get_json()
    assert (state["status"], state["stored"]) == ("done", 2500)
    for employer_no in (A, B, DIRECTORY[-1]):
        page = inbox(app, employer_no)
        assert page["total"] == 1 and page["counts"]["message"] == 1
        assert page["items"][0]["content"] == "请于本月25日前完成汇缴。"


def test_a_stalled_broadcast_is_resumed_from_its_cursor(app: Flask, queued: list[tuple[int, str]]) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hall_common import db
    from services.notify.models import Push

    push_id = app.test_client().post("/pushes", json=body(target="all", employer_nos=[]),
                                     headers=H.center).get_json()["push"]["id"]
    with app.app_context():
        following = push.store_batch(push_id, "")
        assert following is not None
        assert push.resume_stalled() == 0  # young: its next batch is presumably on its way
        db.session().execute(update(Push).values(updated_at=db.utcnow() - timedelta(minutes=11)))
        db.session().commit()
        assert push.resume_stalled() == 1
    assert queued[-1] == (push_id, following)


def test_two_runs_of_one_batch_at_once_store_and_count_it_once(app: Flask, queued: list[tuple[int, str]]) -> None:
    """Both runs passed the cursor check before either committed: the unique (push, employer) keeps the
    items once, only the newly stored raise the counts, and the cursor's conditional update lets one win."""
    from hall_common import db
    from services.notify.models import Push

    push_id = app.test_client().post("/pushes", json=body(target="all", employer_nos=[]),
                                     headers=H.center).get_json()["push"]["id"]
    with app.app_context():
        session = db.session()
        record = session.get(Push, push_id)
        assert record is not None
        assert push.store(session, record, [A, B]) == [A, B]
        assert push.store(session, record, [B, A, DIRECTORY[-1]]) == [DIRECTORY[-1]]
        session.commit()
    assert inbox(app, A)["total"] == 1 and inbox(app, A)["counts"]["message"] == 1
    assert inbox(app, DIRECTORY[-1])["counts"]["message"] == 1
