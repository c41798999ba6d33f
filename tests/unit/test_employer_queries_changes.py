"""单位客户信息变更查询 (manual 7.1): the approved changes of the employer's information, from the
employer service, by date, paged, downloaded and printed; the employer's own only."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask

from deploy.demo_data import SECOND_EMPLOYER_NO
from hall_common import db

from .conftest import EMPLOYER_NO, auth, make_app, token_for
from .employer_query_support import pdf_text, sheet_rows

URL = f"/employers/{EMPLOYER_NO}/queries/employer-changes"


def _record(app: Flask, employer_no: str, changes: list[tuple[str, str, str, str]]) -> None:
    """Changes as the approved change business records them (one request, one row per field)."""
    from services.employer.models import ChangeHistory, ChangeRequest

    with app.app_context():
        session = db.session()
        request = ChangeRequest(employer_no=employer_no, status="approved", changes=[], operator="王晓燕")
        session.add(request)
        session.flush()
        for when, label, old, new in changes:
            session.add(ChangeHistory(employer_no=employer_no, request_id=request.id, field=label, label=label,
                                      old_value=old, new_value=new, operator="王晓燕", approver="中心审核员李明",
                                      changed_at=datetime.fromisoformat(when)))
        session.commit()


@pytest.fixture
def app() -> Flask:
    app = make_app("employer")
    _record(app, EMPLOYER_NO, [("2026-01-05 09:30", "单位地址", "长治路100号", "长治路200号"),
                               ("2026-02-28 23:59", "单位联系电话", "0351-7654321", "13800001111"),
                               ("2026-03-01 00:00", "邮政编码", "030006", "030001")])
    _record(app, SECOND_EMPLOYER_NO, [("2026-02-01 10:00", "单位地址", "别家旧址", "别家新址")])
    return app


def test_changes_by_date_each_day_counted_to_its_end_and_paged(app: Flask, employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    february = client.get(URL, query_string={"start_date": "2026-01-06", "end_date": "2026-02-28"},
                          headers=employer_headers).get_json()
    assert [(r["changed_at"], r["label"], r["old_value"], r["new_value"], r["approver"]) for r in february["items"]] \
        == [("2026-02-28 23:59", "单位联系电话", "0351-7654321", "13800001111", "中心审核员李明")]
    second = client.get(URL, query_string={"per_page": 2, "page": 2}, headers=employer_headers).get_json()
    assert second["total"] == 3 and [r["label"] for r in second["items"]] == ["邮政编码"]
    backwards = client.get(URL, query_string={"start_date": "2026-03-01", "end_date": "2026-01-01"},
                           headers=employer_headers)
    assert backwards.status_code == 422 and "开始日期不能晚于结束日期" in str(backwards.get_json())


def test_another_employer_never_sees_these_changes(app: Flask) -> None:
    other_employer_headers = auth(token_for(employer_no=SECOND_EMPLOYER_NO))
    assert app.test_client().get(URL, headers=other_employer_headers).status_code == 403
    theirs = app.test_client().get(f"/employers/{SECOND_EMPLOYER_NO}/queries/employer-changes",
                                   headers=other_employer_headers).get_json()
    assert [r["new_value"] for r in theirs["items"]] == ["别家新址"]
    no_right = app.test_client().get(URL, headers=auth(token_for(perms=("member_query",))))
    assert no_right.status_code == 403


def test_download_and_print_hold_the_changes(app: Flask, employer_headers: dict[str, str]) -> None:
    sheet = app.test_client().get(f"{URL}/export", query_string={"start_date": "2026-02-01"}, headers=employer_headers)
    assert sheet_rows(sheet.get_data()) == [
        ("变更时间", "变更项目", "变更前", "变更后", "经办人", "审核人"),
        ("2026-02-28 23:59", "单位联系电话", "0351-7654321", "13800001111", "王晓燕", "中心审核员李明"),
        ("2026-03-01 00:00", "邮政编码", "030006", "030001", "王晓燕", "中心审核员李明")]
    text = pdf_text(app.test_client().get(f"{URL}/print", headers=employer_headers).get_data())
    assert "单位客户信息变更查询" in text and "长治路200号" in text and "别家新址" not in text and "共 3 条" in text
