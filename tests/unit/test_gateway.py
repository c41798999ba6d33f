"""The gateway's own guards, which need no service behind them."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from hall_common.settings import reset_settings


def center_client(app: Flask) -> FlaskClient:
    """A client of the gateway with a center user's session (the services behind it are faked)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "last_active": time.time(),
                                     "principal": {"name": "中心审核员李明", "perms": ALL_CENTER_PERMISSIONS}}
    return client


def test_posts_without_the_csrf_token_are_refused() -> None:
    client = create_app().test_client()
    form = client.post("/logout")
    assert form.status_code == 400
    assert "页面已过期，请刷新页面后重试" in form.get_data(as_text=True)
    script = client.post("/login/challenge", json={"employer_no": "100100001", "login_name": "100100001"})
    assert script.status_code == 400
    assert script.get_json() == {"message": "页面已过期，请刷新页面后重试"}


def test_business_pages_need_a_session() -> None:
    client = create_app().test_client()
    for path in ("/", "/employer/change", "/password", "/inbox/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    admin = client.get("/admin/accounts")
    assert admin.status_code == 302
    assert "/admin/login" in admin.headers["Location"]


def test_login_page_points_at_the_configured_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_UKEY_AGENT_URL", "http://127.0.0.1:19999")
    reset_settings()
    page = create_app().test_client().get("/login").get_data(as_text=True)
    assert 'data-agent="http://127.0.0.1:19999"' in page
    assert "UKey密码" in page


def test_the_center_task_page_pages_the_rows_read_from_the_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall_common.client import ServiceClient

    calls: list[tuple[str, str, dict[str, object]]] = []
    instance = {"id": 3, "business_type": "base_adjust", "business_id": "41", "owner": "member",
                "title": "基数调整", "employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
                "initiator": "王晓燕", "summary": "共120人", "row_count": 120, "started_at": "2026-11-28T08:00:00Z"}

    def fake_get(self: ServiceClient, path: str, **params: object) -> object:
        calls.append((self.service, path, params))
        if path == "/tasks/9":
            return {"task": {"id": 9, "status": "open"}, "instance": instance}
        if path == "/instances/3/path":
            return {"instance": instance, "version": 1, "bpmn_xml": "<x/>", "completed": [], "taken_flows": [],
                    "current": [], "steps": [], "can_end": False}
        page = int(str(params["page"]))
        items = [{"name": f"职工{i}"} for i in range((page - 1) * 50, min(page * 50, 120))]
        return {"caption": "调整清册", "columns": [{"key": "name", "label": "姓名"}], "total": 120, "page": page,
                "per_page": params["per_page"], "items": items}

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    client = center_client(create_app())
    page = client.get("/admin/tasks/9?page=3").get_data(as_text=True)
    # The rows come from the owning service named by the instance, never from the process.
    assert ("member", "/businesses/base_adjust/41", {"page": 3, "per_page": 50}) in calls
    assert "调整清册（共120行）" in page
    assert "<td>101</td><td>职工100</td>" in page  # numbering continues across pages
    assert "第3/3页" in page and "上一页" in page and "下一页" not in page


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example", "/\n/evil.example", "//evil.example",
                                    "https://evil.example"])
def test_the_idle_return_never_leaves_the_site(target: str) -> None:
    client = create_app().test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {"token": "t", "principal": {"name": "王晓燕"}, "last_active": time.time()}
    response = client.get("/session/expired", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/session/expired", query_string={"next": "/inbox/3?box=read"}).headers["Location"] == (
        "/inbox/3?box=read"
    )


def test_script_posts_with_hostile_json_are_refused_not_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall_common.client import ServiceClient

    sent: list[object] = []

    def fake_post(self: ServiceClient, path: str, json: object = None) -> object:
        sent.append(json)
        return {"challenge_id": "c", "nonce": "n"}

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    for body in ("[1]", '"x"', "1", "null"):  # not an object: an empty request, which the auth service refuses
        response = client.post("/login/challenge", data=body, content_type="application/json")
        assert response.status_code == 200
        assert client.post("/session/keepalive", data=body, content_type="application/json").status_code == 401
    assert sent == [{"employer_no": "", "login_name": ""}] * 4
    for body, message in (('{"employer_no": "\\ud800", "login_name": "a"}', "含有无效字符"),
                          ('{"employer_no": "a\\u0000", "login_name": "a"}', "不能包含控制字符"),
                          ("[" * 100_000 + "]" * 100_000, "数据嵌套层数过多")):
        response = client.post("/login/challenge", data=body, content_type="application/json")
        assert response.status_code == 422
        assert message in response.get_json()["message"]
    assert len(sent) == 4  # nothing hostile reached the auth service


def test_admin_account_names_stay_one_path_segment_at_the_auth_service(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall_common.client import ServiceClient

    paths: list[str] = []

    def fake_request(self: ServiceClient, method: str, path: str, **kwargs: object) -> object:
        paths.append(path)
        return {"one_time_password": "x", "message": "ok"}

    monkeypatch.setattr(ServiceClient, "request", fake_request)
    client = center_client(create_app({"WTF_CSRF_ENABLED": False}))
    client.post("/admin/accounts/100100002%3Fx=/reset-password")
    client.post("/admin/accounts/..%3F/permissions")
    client.post("/admin/ukeys/1/bindings/100100002%23/delete")
    assert paths == ["/auth/operators/100100002%3Fx%3D/reset-password", "/auth/operators/..%3F/permissions",
                     "/auth/ukeys/1/bindings/100100002%23"]


def test_the_dead_letter_page_says_when_a_service_has_more_than_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall_common.client import ServiceClient

    def fake_get(self: ServiceClient, path: str, **params: object) -> object:
        many = self.service == "notify"
        items = [{"id": i, "type": "employer.info_changed", "payload": "{}", "attempts": 9, "status": "dead",
                  "first_failed_at": "2026-11-28T08:00:00+00:00", "last_failed_at": "2026-11-28T08:00:00+00:00",
                  "last_error": "boom", "retry_count": 0} for i in range(int(str(params["per_page"])) if many else 0)]
        return {"items": items, "total": 250 if many else 0}

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    client = center_client(create_app())
    page = client.get("/admin/dead-letters").get_data(as_text=True)
    assert "消息服务共250条，仅显示最新100条" in page


def test_behind_a_configured_proxy_the_browsers_address_reaches_the_auth_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hall_common.client import ServiceClient

    seen: list[str] = []

    def fake_post(self: ServiceClient, path: str, json: object = None) -> object:
        seen.append(self.headers.get("X-Forwarded-For", ""))
        return {"challenge_id": "c", "nonce": "n", "expires_at": "2026-11-28T08:00:00+00:00"}

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    for hops, expected in ((0, "10.0.0.5"), (1, "198.51.100.23")):
        monkeypatch.setenv("HALL_GATEWAY_PROXY_HOPS", str(hops))
        reset_settings()
        client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
        response = client.post("/login/challenge", json={"employer_no": "100100001", "login_name": "100100001"},
                               environ_base={"REMOTE_ADDR": "10.0.0.5"},
                               headers={"X-Forwarded-For": "198.51.100.23"})
        assert response.status_code == 200
        assert seen[-1] == expected
    reset_settings()


def test_the_home_page_asks_each_service_once_at_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three calls, not four (the inbox page carries the tabs' counts), made at once: each fake service
    waits until all three were asked, so calls made one after another would time out."""
    import threading

    from hall_common.client import ServiceClient

    calls: list[tuple[str, str]] = []
    all_asked = threading.Barrier(3, timeout=5)
    item = {"id": 7, "title": "单位信息变更", "content": "尊敬的太原市示例科技有限公司，您已完成办理单位信息变更！",
            "created_at": "2026-11-28T08:00:00Z"}
    answers = {
        "employer": {"name": "太原市示例科技有限公司", "employer_no": "100100001"},
        "payment": {"balance": "1234.50", "unallocated": "0.00"},
        "notify": {"items": [item], "total": 3,
                   "counts": {"message": 3, "todo": 0, "done": 0, "initiated": 0, "read": 12}},
    }

    def fake_get(self: ServiceClient, path: str, **params: object) -> object:
        calls.append((self.service, path))
        all_asked.wait()
        return answers[self.service]

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    client = create_app().test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {"token": "t", "principal": {"name": "王晓燕", "sub": "100100001",
                                       "emp": "100100001", "emp_name": "太原市示例科技有限公司", "perms": []},
                                       "last_active": time.time(), "sound_enabled": False}
    page = client.get("/").get_data(as_text=True)
    assert sorted(calls) == [("employer", "/employers/100100001"), ("notify", "/employers/100100001/inbox/message"),
                             ("payment", "/employers/100100001/account")]
    assert '已阅 <span class="count">12</span>' in page and '消息 <span class="count">3</span>' in page
    assert "1,234.50 元" in page and 'href="/inbox/7"' in page
