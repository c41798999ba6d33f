"""The admin console's 政策参数 page against the real member service (in process): the versions table,
a version added in percent, a refused form kept with the reason at its field, a future version edited
and deleted, the version in force offered no edit, and the changes on the 审计日志 page."""

from __future__ import annotations

import html
import re
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_CENTER_PERMISSIONS

from .conftest import make_app, token_for

LATER = date.today() + timedelta(days=400)


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Flask:
    app = make_app("member")

    def request(client: ServiceClient, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        if client.service != "member":  # the audit page's other services: nothing recorded there
            return {"items": [], "total": 0}
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        response = app.test_client().open(path + query, method=method, json=json, headers=client.headers)
        if response.status_code >= 400:
            body = response.get_json() or {}
            raise ServiceError("member", response.status_code, body.get("message", ""), body.get("errors"))
        return response.get_json() if response.data else None  # 204: no body, as the real client reads it

    monkeypatch.setattr(ServiceClient, "request", request)
    return app


def console(perms: list[str] | None = None) -> FlaskClient:
    held = ALL_CENTER_PERMISSIONS if perms is None else perms
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": token_for("center", None, perms=tuple(held)),
                                     "expires_at": time.time() + 3600, "last_active": time.time(),
                                     "principal": {"sub": "center01", "name": "中心审核员李明", "perms": held}}
    return client


def form(**changes: str) -> dict[str, str]:
    return {"effective_from": LATER.isoformat(), "base_min": "1980", "base_max": "28512", "amount_min": "198",
            "amount_max": "6842.88", "employer_ratio_min_pct": "5", "employer_ratio_max_pct": "12",
            "personal_ratio_min_pct": "5", "personal_ratio_max_pct": "12", "amount_places": "0.01",
            "rounding": "ROUND_HALF_UP", "current_rate_pct": "1.5", "carried_rate_pct": "1.5",
            "note": "新年度缴存基数上下限", **changes}


def alerts(page: str) -> list[str]:
    return [html.unescape(a) for a in re.findall(r'role="alert">([^<]*)</div>', page)]


def row(page: str, effective_from: str) -> str:
    match = re.search(rf'<tr data-version="\d+" data-effective="{effective_from}">(.*?)</tr>', page, re.S)
    assert match is not None, effective_from
    return match.group(1)


def test_a_version_is_added_edited_and_deleted_and_each_change_is_audited(member: Flask) -> None:
    client = console()
    page = client.get("/admin/policy/").get_data(as_text=True)
    assert ">政策参数</a>" in page and "<h1>政策参数</h1>" in page
    initial = row(page, "1991-01-01")
    assert "生效中" in initial and "修改" not in initial and "删除" not in initial  # in force: never edited
    added = client.post("/admin/policy/", data=form(), follow_redirects=True).get_data(as_text=True)
    assert alerts(added) == [f"已新增政策参数版本，自 {LATER.isoformat()} 起生效"]
    new = row(added, LATER.isoformat())
    assert "未生效" in new and "1980.00 — 28512.00" in new and "5% — 12%" in new and "1.5%" in new
    assert "到分，四舍五入" in new
    version_id = re.search(rf'data-version="(\d+)" data-effective="{LATER.isoformat()}"', added)
    assert version_id is not None
    edit_page = client.get(f"/admin/policy/?edit={version_id.group(1)}").get_data(as_text=True)
    assert "修改政策参数（自" in edit_page and 'value="28512.00"' in edit_page
    edited = client.post(f"/admin/policy/{version_id.group(1)}", data=form(base_max="30000", amount_places="1"),
                         follow_redirects=True).get_data(as_text=True)
    assert alerts(edited) == [f"已修改自 {LATER.isoformat()} 起生效的政策参数版本"]
    assert "1980.00 — 30000.00" in row(edited, LATER.isoformat()) and "到元" in row(edited, LATER.isoformat())
    deleted = client.post(f"/admin/policy/{version_id.group(1)}/delete", data={"effective_from": LATER.isoformat()},
                          follow_redirects=True).get_data(as_text=True)
    assert alerts(deleted) == [f"已删除自 {LATER.isoformat()} 起生效的政策参数版本"]
    assert f'data-effective="{LATER.isoformat()}"' not in deleted
    audit = html.unescape(client.get("/admin/audit").get_data(as_text=True))
    order = [audit.index(text) for text in ("删除政策参数", "修改政策参数", "新增政策参数")]
    assert order == sorted(order)  # newest first
    assert "缴存人服务" in audit and f"政策参数 {LATER.isoformat()}" in audit
    assert '"base_max": "28512.00"' in audit and '"base_max": "30000.00"' in audit  # before and after


def test_a_refused_version_keeps_the_input_and_names_the_field(member: Flask) -> None:
    client = console()
    response = client.post("/admin/policy/", data=form(base_min="30000", note="待核"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert alerts(page) == ["缴存基数下限不能大于缴存基数上限"]
    assert re.search(r'id="error-base_max">缴存基数下限不能大于缴存基数上限<', page)
    assert 'value="30000"' in page and 'value="待核"' in page
    past = client.post("/admin/policy/", data=form(effective_from=date.today().isoformat()))
    assert "生效日期应晚于今天" in alerts(past.get_data(as_text=True))[0]
    assert "暂无" not in page and row(page, "1991-01-01")


def test_the_version_in_force_is_not_offered_for_edit_and_an_account_without_the_right_is_refused(
        member: Flask) -> None:
    client = console()
    refused = client.get("/admin/policy/?edit=1", follow_redirects=True).get_data(as_text=True)
    assert alerts(refused) == ["该版本已生效，已生效或已失效的政策参数不得修改或删除，请新增一个版本"]
    assert "新增政策参数版本" in refused
    stale = client.post("/admin/policy/1", data=form(), follow_redirects=True).get_data(as_text=True)
    assert alerts(stale) == ["该版本已生效，已生效或已失效的政策参数不得修改或删除，请新增一个版本"]
    others = console([p for p in ALL_CENTER_PERMISSIONS if p != "policy"])
    assert ">政策参数</a>" not in others.get("/admin/").get_data(as_text=True)
    assert others.get("/admin/policy/").status_code == 403
