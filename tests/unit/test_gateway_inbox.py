"""The inbox pages of the gateway against a real notify service app (in process): every action of
chapter 2 with the manual's prompts, the full history (更多) with paging and filters, the center's
消息推送 page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from services.notify import push

from .conftest import OTHER_EMPLOYER_NO, make_app, token_for

A = "100100001"


def fake_directory(after: str = "", limit: int = 1000, employer_no: list[str] | None = None) -> dict[str, Any]:
    known = [no for no in (A, OTHER_EMPLOYER_NO) if no > after and (not employer_no or no in employer_no)]
    return {"items": [{"employer_no": no, "name": no} for no in known], "next_after": None}


@pytest.fixture
def notify(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The notify service with eleven messages of employer A (业务编号1 .. 11, the 11th the oldest of
    page 2) and one of employer B; the gateway's calls to it go through its test client."""
    monkeypatch.setattr(push, "directory", fake_directory)
    app = make_app("notify")
    with app.app_context():
        for n in range(1, 12):
            consume(make_event("employer", "employer.info_changed", {
                "employer_no": A, "employer_name": "太原市示例科技有限公司", "business_type": "employer_change",
                "business_id": str(n), "title": "单位信息变更", "changes": [{"field": "phone", "label": "联系电话"}],
                "summary": "联系电话"}))
        consume(make_event("employer", "employer.info_changed", {
            "employer_no": OTHER_EMPLOYER_NO, "employer_name": "乙单位", "business_type": "employer_change",
            "business_id": "99", "title": "单位信息变更"}))
    client = app.test_client()

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        if self.service == "employer":
            return {"name": "太原市示例科技有限公司", "employer_no": A, "fields": []}
        if self.service == "payment":
            return {"balance": "1234.50", "unallocated": "0.00"}
        assert self.service == "notify", self.service
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        response = client.open(path + query, method=method, json=json, headers=self.headers)
        body = response.get_json()
        if response.status_code >= 400:
            raise ServiceError("notify", response.status_code, body.get("message", ""), body.get("errors"))
        return body

    monkeypatch.setattr(ServiceClient, "request", request)
    yield app


def hall(employer_no: str = A) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(employer_no=employer_no), "expires_at": time.time() + 3600, "last_active": time.time(),
            "principal": {"name": "王晓燕", "sub": employer_no, "emp": employer_no,
                          "emp_name": "太原市示例科技有限公司", "perms": ["employer_change"]},
            "sound_enabled": False}
    return client


def center() -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": token_for("center", None), "expires_at": time.time() + 3600,
                                     "last_active": time.time(),
                                     "principal": {"name": "中心审核员李明", "perms": ALL_CENTER_PERMISSIONS}}
    return client


def references(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"业务编号(\d+)", page)]


def alert(client: FlaskClient, response: Any) -> str:
    """The prompt the page shows after a redirect (the flashed message)."""
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    found = re.search(r'role="alert"[^>]*>\s*([^<]+)', page)
    return found.group(1).strip() if found else ""


def test_the_home_page_shows_the_newest_few_and_more_opens_the_history(notify: Flask) -> None:
    client = hall()
    home = client.get("/").get_data(as_text=True)
    assert '消息 <span class="count">11</span>' in home
    assert references(home) == [11, 10, 9, 8, 7]
    assert 'href="/inbox/message" id="inbox-more">更多</a>' in home
    # Each message names its business: the number and what changed.
    assert "您已完成办理单位信息变更（业务编号11，变更项：联系电话）！" in home


def test_the_eleventh_message_is_on_page_two(notify: Flask) -> None:
    client = hall()
    first = client.get("/inbox/message").get_data(as_text=True)
    assert references(first) == list(range(11, 1, -1))
    assert "第1/2页（共11条）" in first and 'href="/inbox/message?page=2"' in first
    second = client.get("/inbox/message?page=2").get_data(as_text=True)
    assert references(second) == [1]
    # The home page's own ?page=2 leads there too rather than being ignored.
    assert client.get("/?page=2").headers["Location"] == "/inbox/message?page=2"
    assert "第2/2页（共11条）" in second and "上一页" in second and "下一页" not in second


def test_view_then_mark_read_moves_the_message_to_read(notify: Flask) -> None:
    client = hall()
    item_id = re.search(r'href="/inbox/(\d+)">查看', client.get("/").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    detail = client.get(f"/inbox/{item_id}").get_data(as_text=True)
    for shown in ("业务名称</dt><dd>单位信息变更", "业务编号11，变更项：联系电话", "推送渠道</dt><dd>网上服务大厅",
                  "时间</dt><dd>20"):
        assert shown in detail
    assert "标为已阅" in detail
    moved = client.post(f"/inbox/{item_id}/read")
    assert alert(client, moved) == "已标为已阅"
    home = client.get("/").get_data(as_text=True)
    assert '消息 <span class="count">10</span>' in home and '已阅 <span class="count">1</span>' in home
    assert 11 not in references(home)
    read = client.get("/inbox/read").get_data(as_text=True)
    assert references(read) == [11] and "删除" in read and "查看" in read
    # A read message has no 标为已阅 any more.
    assert "标为已阅" not in client.get(f"/inbox/{item_id}").get_data(as_text=True)


def test_delete_asks_first_and_prompts_and_returns_to_the_same_page(notify: Flask) -> None:
    client = hall()
    second = client.get("/inbox/message?page=2").get_data(as_text=True)
    assert 'data-confirm="确定删除该消息？"' in second
    item_id = re.search(r'/inbox/(\d+)/delete', second).group(1)  # type: ignore[union-attr]
    deleted = client.post(f"/inbox/{item_id}/delete", data={"box": "message", "page": "2"})
    assert deleted.headers["Location"] == "/inbox/message?page=2"
    assert alert(client, deleted) == "消息已删除"
    assert references(client.get("/inbox/message").get_data(as_text=True)) == list(range(11, 1, -1))
    assert "第1/1页" not in client.get("/inbox/message").get_data(as_text=True)  # one page left: no pager
    gone = client.get(f"/inbox/{item_id}")
    assert gone.status_code == 404 and "消息不存在或已删除" in gone.get_data(as_text=True)


def test_read_messages_can_be_viewed_and_deleted(notify: Flask) -> None:
    client = hall()
    item_id = re.search(r'href="/inbox/(\d+)">查看', client.get("/").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert alert(client, client.post(f"/inbox/{item_id}/read")) == "已标为已阅"
    read = client.get("/?box=read").get_data(as_text=True)
    assert f'href="/inbox/{item_id}">查看' in read
    assert "业务编号11，变更项：联系电话" in client.get(f"/inbox/{item_id}").get_data(as_text=True)
    deleted = client.post(f"/inbox/{item_id}/delete", data={"box": "read"})
    assert deleted.headers["Location"] == "/?box=read"
    assert alert(client, deleted) == "消息已删除"
    assert '已阅 <span class="count">0</span>' in client.get("/").get_data(as_text=True)


def test_the_history_filters_by_business_and_date(notify: Flask) -> None:
    client = hall()
    sent = center().post("/admin/push", data={"client_key": "k" * 12, "target": "one", "employer_nos": A,
                                              "channel": "微信", "title": "缴存提醒", "content": "请按时汇缴"})
    assert sent.status_code == 302
    pushes = client.get("/inbox/message?business_type=push").get_data(as_text=True)
    assert "缴存提醒" in pushes and references(pushes) == []
    changes = client.get("/inbox/message?business_type=employer_change").get_data(as_text=True)
    assert "缴存提醒" not in changes and "第1/2页（共11条）" in changes
    # The pager keeps the filter.
    assert 'href="/inbox/message?business_type=employer_change&amp;page=2"' in changes \
        or 'href="/inbox/message?page=2&amp;business_type=employer_change"' in changes
    assert "暂无记录" in client.get("/inbox/message?start_date=2099-01-01").get_data(as_text=True)
    wrong = client.get("/inbox/message?start_date=2026-12-01&end_date=2026-11-01").get_data(as_text=True)
    assert "结束日期：结束日期不能早于开始日期" in wrong
    bad = client.get("/inbox/message?start_date=yesterday").get_data(as_text=True)
    assert "开始日期：应为有效日期（YYYY-MM-DD）" in bad


def test_more_is_the_same_in_every_box(notify: Flask) -> None:
    client = hall()
    for box, label in (("todo", "待办"), ("done", "已办"), ("initiated", "我发起的"), ("read", "已阅")):
        page = client.get(f"/inbox/{box}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert f"<h1>{label}</h1>" in text and 'id="inbox-filters"' in text
        assert f'href="/inbox/{box}" id="inbox-more">更多</a>' in client.get(f"/?box={box}").get_data(as_text=True)
    assert client.get("/inbox/nonsense").status_code == 404


def test_another_employer_sees_none_of_these_messages(notify: Flask) -> None:
    own = hall().get("/").get_data(as_text=True)
    item_id = re.search(r'href="/inbox/(\d+)">查看', own).group(1)  # type: ignore[union-attr]
    other = hall(OTHER_EMPLOYER_NO)
    home = other.get("/").get_data(as_text=True)
    assert references(home) == [99] and '消息 <span class="count">1</span>' in home
    assert other.get(f"/inbox/{item_id}").status_code == 404
    assert other.post(f"/inbox/{item_id}/read").status_code == 404
    assert other.post(f"/inbox/{item_id}/delete", data={"box": "message"}).status_code == 404
    assert '消息 <span class="count">11</span>' in hall().get("/").get_data(as_text=True)


def test_the_center_push_page_sends_and_lists_and_names_bad_fields(notify: Flask) -> None:
    admin = center()
    form = admin.get("/admin/push").get_data(as_text=True)
    assert "消息推送" in form and 'name="client_key"' in form
    for channel in ("网上服务大厅", "短信", "微信", "柜面"):
        assert f'<option value="{channel}"' in form
    data = {"client_key": "pushform01", "target": "list", "employer_nos": f"{A}，{OTHER_EMPLOYER_NO}",
            "channel": "柜面", "title": "年度基数调整通知", "content": "请于7月前办理基数调整。"}
    sent = admin.post("/admin/push", data=data)
    assert alert(admin, sent) == "已推送至2个单位"
    # The same form sent again (a double click) pushes once.
    again = admin.post("/admin/push", data=data)
    assert alert(admin, again) == "该推送已受理，未重复推送"
    listed = admin.get("/admin/push").get_data(as_text=True)
    assert "年度基数调整通知" in listed and "单位列表" in listed and "已完成" in listed
    assert "年度基数调整通知" in hall(OTHER_EMPLOYER_NO).get("/").get_data(as_text=True)
    bad = admin.post("/admin/push", data={**data, "client_key": "pushform02", "employer_nos": "12345, 1x-2"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "单位账号：第2个：单位账号格式不正确" in text
    missing = admin.post("/admin/push", data={**data, "client_key": "pushform03", "employer_nos": "12345"})
    assert "单位账号：单位账号不存在：12345" in missing.get_data(as_text=True)


def test_todo_opens_the_returned_business_with_end_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []
    instance = {"id": 5, "business_type": "employer_change", "business_id": "3", "title": "单位信息变更",
                "status": "returned", "outcome": None, "summary": "单位地址", "initiator": "王晓燕",
                "started_at": "2026-11-28T08:00:00Z", "employer_no": A}

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        calls.append((self.service, method, path, json))
        if path == "/instances/5/path":
            return {"instance": instance, "version": 1, "bpmn_xml": "<x/>", "completed": [], "taken_flows": [],
                    "current": [], "steps": [], "can_end": instance["status"] == "returned"}
        assert (method, path) == ("POST", "/instances/5/end")
        instance["status"] = "ended"
        return instance

    monkeypatch.setattr(ServiceClient, "request", request)
    client = hall()
    page = client.get("/processes/5").get_data(as_text=True)
    assert 'id="end-process"' in page and "确定结束流程？" in page and "修改后重新提交或结束流程" in page
    ended = client.post("/processes/5/end", data={"reason": "不再变更"})
    assert ended.headers["Location"] == "/processes/5"
    assert alert(client, ended) == "流程已结束，可重新办理单位信息变更"
    assert ("workflow", "POST", "/instances/5/end", {"reason": "不再变更"}) in calls
    assert 'id="end-process"' not in client.get("/processes/5").get_data(as_text=True)
    # An account without the business's permission sees no button and cannot end it.
    instance["status"] = "returned"
    calls.clear()
    other = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with other.session_transaction() as session:
        session["employer_session"] = {"token": token_for(), "expires_at": time.time() + 3600,
                                       "last_active": time.time(), "sound_enabled": False,
                                       "principal": {"name": "李四", "sub": "op2", "emp": A, "perms": []}}
    assert 'id="end-process"' not in other.get("/processes/5").get_data(as_text=True)
    assert alert(other, other.post("/processes/5/end")) == "当前账号无权办理该业务"
    assert not [c for c in calls if c[1] == "POST"]
