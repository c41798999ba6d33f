"""Imports into one roster at once, on SQLite and PostgreSQL: operators uploading together never put a
subject in the roster twice, a roster never has two unsettled imports (the page shows one and the
others' staged rows would hold their subjects unseen), and a double click on 仅导入正确数据 adds once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from hall_common import migrate

from ..threads import at_once
from .conftest import EMPLOYER_NO, AnyDb, auth, token_for
from .member_support import filled, resident_id, rows, template, upload

TYPE = "member_registration"
OPERATORS = 10
BUSY = "上一次导入尚未处理完毕，请先处理（导入正确数据或放弃）后再上传"


def line(serial: int) -> list[Any]:
    return [f"员工{serial}", None, resident_id(serial), "5000", "202612", None]


def headers_of(count: int) -> list[dict[str, str]]:
    return [auth(token_for(login_name=f"100100001-op{i}")) for i in range(count)]


def test_operators_uploading_one_file_at_once_add_each_person_once(any_db: AnyDb) -> None:
    app = any_db.app("member")
    operators = headers_of(OPERATORS)
    content = filled(template(app, operators[0], TYPE), [line(s) for s in range(400, 405)])
    answers = at_once([lambda h=h: upload(app, h, TYPE, content, option="11") for h in operators])
    assert all(a.status_code in (202, 409) for a in answers), [a.get_json() for a in answers]
    added = [a.get_json()["import"] for a in answers if a.status_code == 202
             and a.get_json()["import"]["status"] == "added"]
    assert len(added) == 1, [a.get_json() for a in answers]
    # The others: refused while one was unsettled, or checked against the roster it filled meanwhile.
    assert {a.get_json()["message"] for a in answers if a.status_code == 409} <= {BUSY}
    listed = rows(app, operators[0], TYPE)
    assert sorted(r["id_number"] for r in listed["items"]) == sorted(resident_id(s) for s in range(400, 405))


def test_operators_uploading_files_with_errors_at_once_leave_one_import_to_settle(any_db: AnyDb) -> None:
    app = any_db.app("member")
    operators = headers_of(OPERATORS)
    blank = template(app, operators[0], TYPE)
    files = [filled(blank, [line(410 + 2 * i), line(411 + 2 * i), ["坏行", None, "123", "5000", "202612", None]])
             for i in range(OPERATORS)]
    answers = at_once([lambda h=h, f=f: upload(app, h, TYPE, f, option="11") for h, f in zip(operators, files,
                                                                                             strict=True)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] + [409] * (OPERATORS - 1), [a.get_json() for a in answers]
    assert {a.get_json()["message"] for a in answers if a.status_code == 409} == {BUSY}
    [winner] = [a.get_json()["import"] for a in answers if a.status_code == 202]
    assert (winner["status"], winner["good"], winner["bad"]) == ("checked", 2, 1), winner
    current = app.test_client().get(f"/employers/{EMPLOYER_NO}/rosters/{TYPE}/imports/current",
                                    headers=operators[0]).get_json()["import"]
    assert current["id"] == winner["id"]

    # 仅导入正确数据 clicked by every operator at once: the good rows join the roster once.
    url = f"/employers/{EMPLOYER_NO}/imports/{winner['id']}/accept"
    accepted = at_once([lambda h=h: app.test_client().post(url, headers=h) for h in operators])
    assert sorted(a.status_code for a in accepted) == [200] + [409] * (OPERATORS - 1)
    assert {a.get_json()["message"] for a in accepted if a.status_code == 409} == {"该导入已处理，请刷新后查看"}
    assert rows(app, operators[0], TYPE)["total"] == 2
    # Settled: the next upload is taken.
    again = upload(app, operators[1], TYPE, filled(blank, [line(440)]), option="11")
    assert (again.status_code, again.get_json()["import"]["status"]) == (202, "added")
    assert rows(app, operators[0], TYPE)["total"] == 3


def test_the_migration_keeps_a_rosters_newest_unsettled_import_and_discards_the_older(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two unsettled imports of one roster, left by the race before the index: the upgrade discards the
    older one with its staged rows, as 放弃 would, and leaves other rosters' imports alone."""
    for url in (f"sqlite:///{tmp_path / 'member.db'}", postgres_url):
        config = migrate.alembic_config("member", url)
        command.upgrade(config, "0008_audit_chain")
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                for id_, employer, status in ((1, EMPLOYER_NO, "checked"), (2, EMPLOYER_NO, "checked"),
                                              (3, "200200002", "checked"), (4, EMPLOYER_NO, "added")):
                    connection.execute(sa.text(
                        "INSERT INTO roster_imports (id, employer_no, business_type, option, file_name, content, "
                        "status, total, done, good, bad, errors, message, created_by, created_at, updated_at) "
                        "VALUES (:id, :employer, :type, '', 'a.xlsx', :content, :status, 1, 1, 1, 1, '[]', '', "
                        "'王晓燕', :at, :at)"),
                        {"id": id_, "employer": employer, "type": TYPE, "content": b"x", "status": status,
                         "at": datetime(2026, 12, 1)})
                    connection.execute(sa.text(
                        "INSERT INTO roster_rows (employer_no, business_type, import_id, staged, claim, row_no, data, "
                        "created_by, created_at) VALUES (:employer, :type, :id, :staged, :claim, 2, '{}', '王晓燕', "
                        ":at)"), {"employer": employer, "type": TYPE, "id": id_, "staged": status == "checked",
                                  "claim": f"claim{id_}", "at": datetime(2026, 12, 1)})
            migrate.upgrade("member", url)
            with engine.connect() as connection:
                imports = connection.execute(sa.text("SELECT id, status FROM roster_imports ORDER BY id")).all()
                staged = connection.execute(sa.text("SELECT import_id FROM roster_rows ORDER BY import_id")).all()
        finally:
            engine.dispose()
        assert [tuple(r) for r in imports] == [(1, "discarded"), (2, "checked"), (3, "checked"), (4, "added")], url
        assert [r[0] for r in staged] == [2, 3, 4], url
