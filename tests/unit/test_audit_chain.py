"""The audit trail's hash chain (docs/audit.md): records made by the hall verify; a record altered,
deleted, moved or slipped in directly in the database is found at the right record, by the check, the
route, the command and an offline check of an export; concurrent appends never fork the chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from sqlalchemy.orm import Session

from hall_common import audit, audit_chain, db, migrate
from hall_common.audit_chain import GENESIS, chain_hash
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from services.member.models import AuditRecord
from tests.threads import at_once

from .conftest import AnyDb, auth, make_app, token_for

SERVICE = "member"  # any service with an audit trail: the member service's is the lightest to start


@pytest.fixture
def app() -> Flask:
    return make_app(SERVICE, seed=False)


def append(app: Flask, count: int, per_transaction: int = 1, actor: str = "center01") -> None:
    with app.app_context():
        session = db.session()
        for i in range(count):
            audit.record(session, AuditRecord, actor, "policy_update", f"政策参数 {i}", detail=f"第{i}次修改",
                         before={"rate": "0.05", "i": i}, after={"rate": "0.06", "i": i})
            if (i + 1) % per_transaction == 0:
                session.commit()
        session.commit()


def verdict(app: Flask) -> audit_chain.Verdict:
    with app.app_context():
        return audit.verify_stored(db.session(), AuditRecord)


def sql(app: Flask, *statements: str, **params: Any) -> None:
    """Edits behind the hall's back: straight to the database, no model, no hook."""
    with app.app_context(), db.get_db().engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement), params)


def rows(app: Flask) -> list[Any]:
    with app.app_context(), db.get_db().engine.connect() as connection:
        table = AuditRecord.__table__
        return list(connection.execute(sa.select(table).order_by(table.c.id)))


def broken(app: Flask) -> tuple[int | None, str]:
    found = verdict(app)
    assert not found.ok
    return found.broken_id, found.reason


def test_records_made_by_the_hall_form_a_chain_that_verifies(app: Flask) -> None:
    append(app, 3)
    append(app, 4, per_transaction=2)  # several records in one transaction chain in the order made
    stored = rows(app)
    assert [r.id for r in stored] == list(range(1, 8))
    assert stored[0].prev_hash == GENESIS
    assert all(r.prev_hash == p.hash for p, r in zip(stored, stored[1:], strict=False))
    found = verdict(app)
    assert (found.ok, found.count, found.last_id, found.last_hash) == (True, 7, 7, stored[-1].hash)
    assert found.message == "校验通过（共7条）"


def test_a_rolled_back_record_leaves_no_gap_and_no_trace(app: Flask) -> None:
    append(app, 2)
    with app.app_context():
        session = db.session()
        audit.record(session, AuditRecord, "center01", "policy_delete", "政策参数 x")
        session.rollback()
        session.commit()  # the rolled back record is not written by a later commit
    append(app, 1)
    assert [r.id for r in rows(app)] == [1, 2, 3]
    assert verdict(app).ok


def test_an_empty_chain_verifies() -> None:
    found = verdict(make_app(SERVICE, seed=False))
    assert (found.ok, found.count, found.last_hash, found.message) == (True, 0, GENESIS, "校验通过（共0条）")


@pytest.mark.parametrize("column", ["actor", "action", "target", "detail", "before", "after", "at"])
def test_any_field_altered_is_found_at_its_record(app: Flask, column: str) -> None:
    append(app, 5)
    value = "2020-01-01 00:00:00.000000" if column == "at" else '{"rate": "0.01"}'
    sql(app, f"UPDATE audit_records SET {column} = :value WHERE id = 3", value=value)
    assert broken(app) == (3, "altered")
    assert verdict(app).message == "第3条记录被篡改"


def test_a_record_rewritten_with_a_fresh_hash_is_found_by_the_next_one(app: Flask) -> None:
    append(app, 5)
    row = rows(app)[2]
    content = {**audit_chain.Link.of(row).content, "detail": "改过的说明"}
    sql(app, "UPDATE audit_records SET detail = '改过的说明', hash = :hash WHERE id = 3",
        hash=chain_hash(content, row.prev_hash))
    assert broken(app) == (3, "unlinked")


def test_the_last_record_rewritten_with_a_fresh_hash_is_found_by_the_head(app: Flask) -> None:
    append(app, 5)
    row = rows(app)[4]
    content = {**audit_chain.Link.of(row).content, "actor": "someone"}
    sql(app, "UPDATE audit_records SET actor = 'someone', hash = :hash WHERE id = 5",
        hash=chain_hash(content, row.prev_hash))
    assert broken(app) == (5, "altered")


def test_a_deleted_record_is_named(app: Flask) -> None:
    append(app, 6)
    sql(app, "DELETE FROM audit_records WHERE id = 3")
    assert broken(app) == (3, "deleted")
    assert verdict(app).message == "第3条记录被删除"
    sql(app, "DELETE FROM audit_records WHERE id = 4")
    assert verdict(app).message == "第3至4条记录被删除"


def test_the_first_record_deleted_is_named(app: Flask) -> None:
    append(app, 3)
    sql(app, "DELETE FROM audit_records WHERE id = 1")
    assert broken(app) == (1, "deleted")


def test_the_last_records_deleted_are_found_by_the_head(app: Flask) -> None:
    append(app, 5)
    sql(app, "DELETE FROM audit_records WHERE id = 5")
    assert broken(app) == (5, "truncated")
    sql(app, "DELETE FROM audit_records WHERE id >= 3")
    assert broken(app) == (3, "truncated")
    assert verdict(app).message == "第3条及之后的记录被删除（校验链头为第5条）"
    sql(app, "DELETE FROM audit_records")
    assert broken(app) == (1, "truncated")


def test_two_records_swapped_are_found_where_the_order_changes(app: Flask) -> None:
    append(app, 5)
    # The rows trade places: every column but the id.
    sql(app, "UPDATE audit_records SET id = 100 WHERE id = 2", "UPDATE audit_records SET id = 2 WHERE id = 4",
        "UPDATE audit_records SET id = 4 WHERE id = 100")
    assert broken(app) == (2, "reordered")
    assert verdict(app).message == "第2条记录的顺序被改变（其前一条应为第3条）"


def test_two_records_contents_swapped_under_their_hashes_are_found_altered(app: Flask) -> None:
    append(app, 5)
    columns = ("actor", "action", "target", "detail", "before", "after", "at")
    assign = ", ".join(f"{c} = (SELECT {c} FROM audit_records WHERE id = :other)" for c in columns)
    sql(app, "CREATE TABLE swap_copy AS SELECT * FROM audit_records WHERE id IN (3, 4)")
    sql(app, f"UPDATE audit_records SET {assign.replace('audit_records', 'swap_copy')} WHERE id = :this",
        this=3, other=4)
    sql(app, f"UPDATE audit_records SET {assign.replace('audit_records', 'swap_copy')} WHERE id = :this",
        this=4, other=3)
    assert {r.id: r.detail for r in rows(app)}[3] == "第3次修改"
    assert broken(app) == (3, "altered")


def test_a_record_slipped_in_past_the_head_is_found(app: Flask) -> None:
    append(app, 3)
    last = rows(app)[-1]
    content = {"id": 4, "actor": "intruder", "action": "policy_update", "target": "x", "detail": "",
               "before": None, "after": None, "at": "2026-12-01T00:00:00.000000"}
    sql(app, "INSERT INTO audit_records (id, actor, action, target, detail, at, prev_hash, hash) "
             "VALUES (4, 'intruder', 'policy_update', 'x', '', '2026-12-01 00:00:00.000000', :prev, :hash)",
        prev=last.hash, hash=chain_hash(content, last.hash))
    assert broken(app) == (4, "beyond_head")


def test_without_its_head_the_chain_neither_verifies_nor_grows(app: Flask) -> None:
    append(app, 2)
    sql(app, "DELETE FROM audit_chain_head")
    assert broken(app) == (None, "no_head")
    with pytest.raises(RuntimeError, match="head is missing"):
        append(app, 1)
    assert len(rows(app)) == 2


def test_ten_threads_appending_at_once_make_one_chain(any_db: AnyDb) -> None:
    app = any_db.app(SERVICE, lambda: make_app(SERVICE, seed=False))
    append(app, 1)

    def appends(thread: int) -> Callable[[], int]:
        def work() -> int:
            append(app, 3, actor=f"admin{thread}")
            return thread
        return work

    assert at_once([appends(t) for t in range(10)], app) == list(range(10))
    stored = rows(app)
    assert [r.id for r in stored] == list(range(1, 32))
    assert len({r.prev_hash for r in stored}) == 31  # no two records claim one predecessor: no fork
    found = verdict(app)
    assert (found.ok, found.count, found.last_hash) == (True, 31, stored[-1].hash)


def center_headers(perms: tuple[str, ...] = tuple(ALL_CENTER_PERMISSIONS)) -> dict[str, str]:
    return auth(token_for("center", None, perms=perms))


def test_the_routes_check_and_export_with_the_audit_permission_only(app: Flask, tmp_path: Path) -> None:
    append(app, 4)
    client = app.test_client()
    checked = client.get("/audit-records/verify", headers=center_headers()).get_json()
    assert (checked["ok"], checked["count"], checked["message"]) == (True, 4, "校验通过（共4条）")
    without = center_headers(tuple(p for p in ALL_CENTER_PERMISSIONS if p != "audit"))
    for path in ("/audit-records/verify", "/audit-records/export"):
        assert client.get(path, headers=without).status_code == 403
    exported = client.get("/audit-records/export", headers=center_headers())
    assert exported.status_code == 200 and exported.mimetype == "application/x-ndjson"
    assert "attachment" in exported.headers["Content-Disposition"]
    lines = [json.loads(line) for line in exported.get_data(as_text=True).splitlines()]
    header, records = lines[0], lines[1:]
    assert (header["format"], header["service"], header["head"]["last_id"]) == ("hall-audit-chain/1", SERVICE, 4)
    assert [r["id"] for r in records] == [1, 2, 3, 4] and records[-1]["hash"] == header["head"]["last_hash"]
    assert records[0]["before"] == '{"i": 0, "rate": "0.05"}'  # as stored and hashed, not re-encoded

    sql(app, "UPDATE audit_records SET target = 'x' WHERE id = 2")
    checked = client.get("/audit-records/verify", headers=center_headers()).get_json()
    assert (checked["ok"], checked["broken_id"], checked["message"]) == (False, 2, "第2条记录被篡改")


def export_to(app: Flask, path: Path) -> Path:
    exported = app.test_client().get("/audit-records/export", headers=center_headers())
    path.write_bytes(exported.get_data())
    return path


def edited(path: Path, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], name: str) -> Path:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    copy = path.with_name(name)
    copy.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in [lines[0], *change(lines[1:])]),
                    encoding="utf-8")
    return copy


def test_an_export_verifies_offline_and_any_edit_of_it_is_named(app: Flask, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    append(app, 5)
    exported = export_to(app, tmp_path / "export.jsonl")
    assert audit_chain.main(["verify", "--file", str(exported)]) == 0
    assert capsys.readouterr().out.startswith("OK: 5 records, last hash ")

    def alter(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records[2]["detail"] = "改过"
        return records

    cases = {
        "altered": (alter, "BROKEN at record 3: content altered"),
        "deleted": (lambda r: r[:1] + r[2:], "BROKEN at record 2: predecessor missing (deleted)"),
        "last": (lambda r: r[:-1], "BROKEN at record 5: the chain ends before its head"),
        "swapped": (lambda r: [r[0], r[2], r[1], *r[3:]], "BROKEN at record 3: order changed"),
    }
    for name, (change, expected) in cases.items():
        assert audit_chain.main(["verify", "--file", str(edited(exported, change, name))]) == 1, name
        assert capsys.readouterr().out.startswith(expected), name
    not_an_export = tmp_path / "other.jsonl"
    not_an_export.write_text('{"x": 1}\n', encoding="utf-8")
    assert audit_chain.main(["verify", "--file", str(not_an_export)]) == 2


def test_the_command_checks_a_services_database(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    append(app, 3)
    assert audit_chain.main(["verify", "--service", SERVICE]) == 0
    assert capsys.readouterr().out.startswith("OK: 3 records")
    sql(app, "DELETE FROM audit_records WHERE id = 2")
    assert audit_chain.main(["verify", "--service", SERVICE]) == 1
    assert capsys.readouterr().out.startswith("BROKEN at record 2: predecessor missing (deleted)")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize(("service", "before_chain"), [("auth", "0009_closed_employers"),
                                                      ("member", "0007_merge"),
                                                      ("workflow", "0006_instance_permission")])
def test_records_from_before_the_chain_are_chained_by_the_upgrade(
    tmp_path: Path, service: str, before_chain: str, database: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if database == "sqlite" else str(request.getfixturevalue("postgres_url"))
    command.upgrade(migrate.alembic_config(service, url), before_chain)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for record_id in (1, 2, 5):  # an old trail may have gaps: it chains as it stands
            connection.execute(sa.text(
                "INSERT INTO audit_records (id, actor, action, target, detail, before, after, at) "
                "VALUES (:id, 'center01', 'reset_password', 'u1', '重置', NULL, '{\"a\": \"中\"}', :at)"),
                {"id": record_id, "at": f"2026-11-0{record_id} 08:00:00.123456"})
    migrate.upgrade(service, url)
    model = __import__(f"services.{service}.models", fromlist=["AuditRecord"]).AuditRecord
    with Session(engine) as session:
        found = audit.verify_stored(session, model)
        assert (found.ok, found.count, found.last_id) == (True, 3, 5)
        audit.record(session, model, "center01", "reset_password", "u2")
        session.commit()
        assert audit.verify_stored(session, model).count == 4
        assert session.scalar(sa.select(sa.func.max(model.id))) == 6
    engine.dispose()
