"""Inbox item ids are never handed out twice (SQLite AUTOINCREMENT, migration 0005_inbox_ids): an old
查看 link of a deleted message must not open the next one."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine, text

from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import make_app

BASE = "/employers/100100001"
DATA = {"employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
        "business_type": "employer_change", "title": "单位信息变更", "opinion": "材料不全"}


def _message(app: Flask, business_id: str, event_type: str = "employer.info_changed") -> None:
    with app.app_context():
        consume(make_event("employer", event_type, dict(DATA, business_id=business_id)))


def test_a_deleted_newest_message_keeps_its_id_to_itself(employer_headers: dict[str, str]) -> None:
    app = make_app("notify")
    client = app.test_client()
    _message(app, "1")
    _message(app, "2", "employer.info_change_rejected")
    newest = client.get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"][0]
    assert client.delete(f"{BASE}/inbox-items/{newest['id']}", headers=employer_headers).status_code == 200
    _message(app, "3")
    old_link = client.get(f"{BASE}/inbox-items/{newest['id']}", headers=employer_headers)
    assert old_link.status_code == 404, old_link.get_json()  # the old 查看 link, not the new message
    assert old_link.get_json()["message"] == "消息不存在或已删除"
    ids = [i["id"] for i in client.get(f"{BASE}/inbox/message", headers=employer_headers).get_json()["items"]]
    assert len(ids) == 2 and max(ids) > newest["id"]


def test_0005_keeps_the_rows_and_their_ids_and_never_reuses_the_largest(hall_env: object) -> None:
    from alembic import command

    from hall_common import migrate
    from hall_common.settings import get_settings

    url = get_settings().database_url("notify")
    command.upgrade(migrate.alembic_config("notify", url), "0004_merge")
    engine = create_engine(url)
    insert = text("INSERT INTO inbox_items (id, employer_no, box, business_type, business_id, title, content, "
                  "channel, source_event_id, created_at) VALUES (:id, '100100001', 'message', 't', :id, 't', "
                  "'c', 'ch', :id, '2026-01-01')")
    with engine.begin() as connection:
        for item_id in (3, 7):
            connection.execute(insert, {"id": item_id})
    migrate.upgrade("notify", url)
    with engine.begin() as connection:
        assert [r[0] for r in connection.execute(text("SELECT id FROM inbox_items ORDER BY id"))] == [3, 7]
        connection.execute(text("DELETE FROM inbox_items WHERE id = 7"))
        connection.execute(text(
            "INSERT INTO inbox_items (employer_no, box, business_type, business_id, title, content, channel, "
            "source_event_id, created_at) VALUES ('100100001', 'message', 't', 'n', 't', 'c', 'ch', 'n', "
            "'2026-01-01')"))
        assert connection.execute(text("SELECT max(id) FROM inbox_items")).scalar() == 8
    command.downgrade(migrate.alembic_config("notify", url), "0004_merge")
    engine.dispose()
