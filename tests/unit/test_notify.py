"""The notify service: messages from domain events, view, mark read, delete, employer scope."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from hall_common.consumer import consume
from hall_common.events import make_event

from ..threads import at_once
from .conftest import make_app

BASE = "/employers/100100001"


@pytest.fixture
def app() -> Flask:
    app = make_app("notify")
    data = {"employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
            "business_type": "employer_change", "business_id": "1", "title": "单位信息变更", "opinion": "材料不全"}
    changed = [{"field": "address", "label": "单位地址", "old": "a", "new": "b"},
               {"field": "phone", "label": "联系电话", "old": "1", "new": "2"}]
    with app.app_context():
        consume(make_event("employer", "employer.info_changed",
                           dict(data, changes=changed, summary="单位地址、联系电话")))
        consume(make_event("employer", "employer.info_change_rejected", dict(data, business_id="2")))
    return app


def test_messages_are_written_from_domain_events(app: Flask, employer_headers: dict[str, str]) -> None:
    page = app.test_client().get(f"{BASE}/inbox/message", headers=employer_headers).get_json()
    assert page["total"] == 2
    contents = [item["content"] for item in page["items"]]
    assert contents == [
        # Each message names its business: the number and, for an applied change, what changed.
        "尊敬的太原市示例科技有限公司，您提交的单位信息变更业务（业务编号2）未通过中心审核。审批意见：材料不全",
        "尊敬的太原市示例科技有限公司，您已完成办理单位信息变更（业务编号1，变更项：单位地址、联系电话）！",
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
    def click() -> tuple[int, str]:
        response = app.test_client().open(path, method=method, headers=headers)
        return response.status_code, response.get_json()["message"]

    return sorted(at_once([click] * n))


def test_ten_simultaneous_clicks_mark_read_and_delete_once(app: Flask, employer_headers: dict[str, str]) -> None:
    item_id = app.test_client().get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"][0]["id"]
    path = f"{BASE}/inbox-items/{item_id}"
    assert _clicks(app, "POST", f"{path}/read", employer_headers) == (
        [(200, "已标为已阅")] + [(409, "只有消息可以标为已阅")] * 9
    )
    assert _clicks(app, "DELETE", path, employer_headers) == [(200, "消息已删除")] + [(404, "消息不存在或已删除")] * 9


def _true_counts(app: Flask, employer_no: str = "100100001") -> dict[str, int]:
    from sqlalchemy import func, select

    from hall_common import db
    from services.notify.models import BOXES, InboxItem

    with app.app_context():
        rows = db.session().execute(
            select(InboxItem.box, func.count()).where(InboxItem.employer_no == employer_no).group_by(InboxItem.box)
        )
        found = {box: n for box, n in rows}
    return {box: found.get(box, 0) for box in BOXES}


def _message_event(n: int) -> dict[str, object]:
    return make_event("employer", "employer.info_changed", {
        "employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
        "business_type": "employer_change", "business_id": str(100 + n), "title": "单位信息变更"})


def test_the_page_carries_every_box_count_and_they_follow_read_and_delete(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    client = app.test_client()
    page = client.get(f"{BASE}/inbox/message", headers=employer_headers, query_string={"per_page": 1}).get_json()
    assert len(page["items"]) == 1 and page["total"] == 2
    assert page["counts"] == {"message": 2, "todo": 0, "done": 0, "initiated": 0, "read": 0}
    first, second = (item["id"] for item in client.get(f"{BASE}/inbox/message", headers=employer_headers)
                     .get_json()["items"])
    client.post(f"{BASE}/inbox-items/{first}/read", headers=employer_headers)
    assert client.get(f"{BASE}/inbox/read", headers=employer_headers).get_json()["counts"] == {
        "message": 1, "todo": 0, "done": 0, "initiated": 0, "read": 1}
    client.delete(f"{BASE}/inbox-items/{first}", headers=employer_headers)  # from 已阅
    client.delete(f"{BASE}/inbox-items/{second}", headers=employer_headers)  # from 消息
    counts = client.get(f"{BASE}/inbox-counts", headers=employer_headers).get_json()
    assert counts == {"message": 0, "todo": 0, "done": 0, "initiated": 0, "read": 0} == _true_counts(app)
    # A redelivered event adds nothing: the count moves only with a stored row.
    event = _message_event(1)
    with app.app_context():
        consume(event)
        consume(event)
    assert client.get(f"{BASE}/inbox-counts", headers=employer_headers).get_json()["message"] == 1


def test_counts_equal_count_star_under_ten_threads_inserting_reading_and_deleting(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    """10 threads at once: 5 store new messages from events, 5 mark read and delete the existing ones
    (racing each other on the same items). Every maintained count ends equal to COUNT(*)."""
    with app.app_context():
        for n in range(20):
            consume(_message_event(n))
    ids = [item["id"] for item in app.test_client().get(
        f"{BASE}/inbox/message", headers=employer_headers, query_string={"per_page": 200}).get_json()["items"]]
    with app.app_context():  # a newer row stays, so SQLite never hands a deleted id to a new message
        consume(_message_event(99))
    barrier = threading.Barrier(10)
    failures: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for n in range(10):
                with app.app_context():
                    consume(_message_event(1000 + k * 100 + n))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    def clicker(k: int) -> None:
        client = app.test_client()
        try:
            barrier.wait()
            for i, item_id in enumerate(ids[k::2]):  # two clickers share each item
                path = f"{BASE}/inbox-items/{item_id}"
                if i % 2:
                    assert client.post(f"{path}/read", headers=employer_headers).status_code in (200, 409, 404)
                assert client.delete(path, headers=employer_headers).status_code in (200, 404)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(5)]
    threads += [threading.Thread(target=clicker, args=(k % 2,)) for k in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    truth = _true_counts(app)
    assert truth["message"] == 51 and truth["read"] == 0  # the last one and the writers' fifty; 22 deleted
    assert app.test_client().get(f"{BASE}/inbox-counts", headers=employer_headers).get_json() == truth


def test_the_migration_counts_the_boxes_that_exist(hall_env: object) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from hall_common import migrate
    from hall_common.settings import get_settings

    url = get_settings().database_url("notify")
    command.upgrade(migrate.alembic_config("notify", url), "0002_events")
    engine = create_engine(url)
    with engine.begin() as connection:
        for n, box in enumerate(["message", "message", "read", "message"]):
            connection.execute(text(
                "INSERT INTO inbox_items (employer_no, box, business_type, business_id, title, content, channel, "
                "source_event_id, created_at) VALUES (:e, :b, 't', :n, 't', 'c', 'ch', :n, '2026-01-01')"),
                {"e": "100100001" if n < 3 else "200200002", "b": box, "n": str(n)})
    migrate.upgrade("notify", url)
    with engine.connect() as connection:
        rows = sorted(tuple(r) for r in connection.execute(text("SELECT employer_no, box, n FROM inbox_box_counts")))
        assert rows == [("100100001", "message", 2), ("100100001", "read", 1), ("200200002", "message", 1)]
    engine.dispose()


def test_the_reference_is_worded_by_the_business_types_declaration() -> None:
    from hall_common import business_types

    change = business_types.resolve("employer_change")
    reference = change.reference({"business_id": "8", "summary": "单位地址、联系电话"})
    assert reference == "业务编号8，变更项：单位地址、联系电话"
    assert change.reference({"business_id": "9"}) == "业务编号9"
    # A type that declares no summary label names its number only, whatever its summary says.
    closure = business_types.resolve("zero_balance_closure")
    assert closure.reference({"business_id": "3", "summary": "余额0.00元"}) == "业务编号3"
    assert closure.message("ended", {"employer_name": "甲单位", "business_id": "3", "by": "center", "reason": "重复"}) \
        == "尊敬的甲单位，您的零余额销户业务（业务编号3）已被中心终止。原因：重复"


def test_every_box_filters_by_business_and_date(employer_headers: dict[str, str]) -> None:
    app = make_app("notify")
    with app.app_context():
        for instance_id, business_type, at in ((1, "employer_change", "2026-11-01T08:00:00+00:00"),
                                               (2, "base_adjust", "2026-11-20T08:00:00+00:00")):
            consume(make_event("workflow", "process.started", {
                "instance_id": instance_id, "seq": 1, "employer_no": "100100001", "business_type": business_type,
                "business_id": str(instance_id), "title": business_type, "at": at}))
    client = app.test_client()

    def ids(query: str) -> list[int]:
        page = client.get(f"{BASE}/inbox/initiated?{query}", headers=employer_headers).get_json()
        assert page["total"] == len(page["items"])
        return [item["instance_id"] for item in page["items"]]

    assert ids("") == [2, 1]
    assert ids("business_type=base_adjust") == [2]
    assert ids("start_date=2026-11-10") == [2]
    assert ids("end_date=2026-11-01") == [1]  # the end date is inclusive
    wrong = client.get(f"{BASE}/inbox/initiated?start_date=2026-11-10&end_date=2026-11-01", headers=employer_headers)
    assert wrong.status_code == 422 and wrong.get_json()["message"] == "结束日期不能早于开始日期"


@pytest.mark.parametrize("box", ["message", "todo", "done", "initiated", "read"])
def test_the_last_representable_day_filters_without_a_500(box: str, employer_headers: dict[str, str]) -> None:
    """9999-12-31 is a valid date; "the day after" it does not exist and was a 500 in every box."""
    app = make_app("notify")
    client = app.test_client()
    for query in ("end_date=9999-12-31", "start_date=9999-12-31&end_date=9999-12-31", "start_date=0001-01-01"):
        page = client.get(f"{BASE}/inbox/{box}?{query}", headers=employer_headers)
        assert page.status_code == 200, (query, page.get_json())
        assert page.get_json()["total"] == 0


def test_mark_read_answers_even_when_a_delete_removes_the_message_right_after(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    """标为已阅 and 删除 clicked at once: the delete may land between the read's commit and its answer.
    The read read its row again there and was a 500 (seen now and then in the ten-thread test)."""
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    from hall_common import db

    client = app.test_client()
    item_id = client.get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"][0]["id"]

    def delete_from_another_connection(session: Session) -> None:
        with db.get_db(app).engine.begin() as other:
            other.execute(text("DELETE FROM inbox_items WHERE id = :id"), {"id": item_id})

    event.listen(Session, "after_commit", delete_from_another_connection, once=True)
    try:
        read = client.post(f"{BASE}/inbox-items/{item_id}/read", headers=employer_headers)
    finally:
        if event.contains(Session, "after_commit", delete_from_another_connection):
            event.remove(Session, "after_commit", delete_from_another_connection)
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["message"] == "已标为已阅"
    assert read.get_json()["item"]["id"] == item_id and read.get_json()["item"]["box"] == "read"
