"""Who may call each route of the approval engine: another employer's instance looks missing, an
employer never reaches a center route, a center user without center_admin never configures or
repairs, only the candidate group takes a task and only its assignee releases it. The caller is
refused before the body is read."""

from __future__ import annotations

import pytest
from flask import Flask

from ..conftest import OTHER_EMPLOYER_NO, auth, token_for
from .conftest import center, complete, employer, submit, the_task

MISSING = (404, "流程实例不存在")


@pytest.fixture
def started(app: Flask) -> dict[str, int]:
    submit(app)
    row = the_task(app)
    return {"task": row["task"]["id"], "instance": row["instance"]["id"]}


def call(app: Flask, method: str, url: str, headers: dict[str, str], body: object = None) -> tuple[int, str]:
    response = app.test_client().open(url, method=method, json=body, headers=headers)
    return response.status_code, response.get_json().get("message", "")


def test_another_employer_finds_no_instance_path_end_or_business(app: Flask, started: dict[str, int]) -> None:
    other = employer(OTHER_EMPLOYER_NO)
    instance = started["instance"]
    assert call(app, "GET", f"/instances/{instance}/path", other) == MISSING
    assert call(app, "POST", f"/instances/{instance}/end", other, {"reason": "x"}) == MISSING
    assert call(app, "GET", "/businesses/employer_change/1/instance", other) == MISSING
    # ...exactly as a missing one answers
    assert call(app, "GET", "/instances/999/path", other) == MISSING
    assert call(app, "POST", "/instances/999/end", other, {"reason": "x"}) == MISSING
    assert call(app, "GET", "/businesses/employer_change/999/instance", other) == MISSING
    assert call(app, "GET", f"/instances/{instance}/path", employer())[0] == 200


@pytest.mark.parametrize(("method", "url", "body"), [
    ("GET", "/definitions", None), ("GET", "/definitions/employer_change/versions", None),
    ("GET", "/definitions/employer_change/versions/1", None),
    ("POST", "/definitions/employer_change/validate", {"bpmn_xml": "x", "junk": 1}),
    ("POST", "/definitions/employer_change/deploy", {"junk": 1}),
    ("GET", "/tasks", None), ("GET", "/tasks/{task}", None), ("POST", "/tasks/{task}/claim", None),
    ("POST", "/tasks/{task}/release", None), ("POST", "/tasks/{task}/complete", {"decision": "nonsense"}),
    ("POST", "/tasks/{task}/reassign", {"junk": 1}), ("GET", "/instances", None),
    ("POST", "/instances/{instance}/terminate", {"junk": 1}), ("GET", "/audit-records", None),
])
def test_an_employer_reaches_no_center_route_whatever_the_body(app: Flask, started: dict[str, int], method: str,
                                                              url: str, body: object) -> None:
    status, _ = call(app, method, url.format(**started), employer(), body)
    assert status == 403


@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", "/definitions/employer_change/validate", {"junk": 1}),
    ("POST", "/definitions/employer_change/deploy", {"bpmn_xml": "<x/>"}),
    ("POST", "/tasks/{task}/reassign", {"login_name": "center02"}),
    ("POST", "/instances/{instance}/terminate", {}),
    ("GET", "/audit-records", None), ("GET", "/tasks?scope=all", None),
])
def test_a_center_user_without_center_admin_neither_configures_nor_repairs(
    app: Flask, started: dict[str, int], method: str, url: str, body: object
) -> None:
    assert call(app, method, url.format(**started), center("clerk", "经办员", admin=False), body) == (
        403, "当前账号无权进行该操作")
    assert the_task(app)["task"]["assignee"] is None


def test_only_the_candidate_group_claims_or_completes_and_only_the_assignee_releases(
    app: Flask, started: dict[str, int]
) -> None:
    task = started["task"]
    outsider = center("chief1", "负责人", groups=("chief",), admin=False)
    assert call(app, "POST", f"/tasks/{task}/claim", outsider) == (403, "您不在该任务的候选组中")
    assert complete(app, task, "approve", headers=outsider).status_code == 403
    admin_outside = center("admin2", "管理员", groups=(), admin=True)  # center_admin is no group membership
    assert call(app, "POST", f"/tasks/{task}/claim", admin_outside) == (403, "您不在该任务的候选组中")
    assert call(app, "POST", f"/tasks/{task}/release", outsider) == (403, "只有认领人可以释放该任务")
    handler = center("h1", "经办甲", groups=("handler",), admin=False)
    assert call(app, "POST", f"/tasks/{task}/claim", handler)[0] == 200
    other_handler = center("h2", "经办乙", groups=("handler",), admin=False)
    assert call(app, "POST", f"/tasks/{task}/release", other_handler) == (403, "只有认领人可以释放该任务")
    assert complete(app, task, "approve", headers=other_handler).status_code == 409
    assert the_task(app)["task"]["assignee"] == "h1"


def test_the_center_may_not_end_an_employers_process(app: Flask, started: dict[str, int]) -> None:
    assert call(app, "POST", f"/instances/{started['instance']}/end", center(), {"reason": "x" * 600}) == (
        403, "该业务只能由单位经办人办理")


def test_an_operator_without_the_business_permission_may_not_end_it(app: Flask, started: dict[str, int]) -> None:
    assert complete(app, started["task"], "return", "请更正").status_code == 200
    limited = auth(token_for(perms=("employer_info",)))
    assert call(app, "POST", f"/instances/{started['instance']}/end", limited, {}) == (403, "当前账号无权办理该业务")
    path = app.test_client().get(f"/instances/{started['instance']}/path", headers=limited).get_json()
    assert path["can_end"] is False
    assert call(app, "POST", f"/instances/{started['instance']}/end", employer(), {})[0] == 200


def test_anonymous_callers_get_401_everywhere(app: Flask, started: dict[str, int]) -> None:
    for url in ("/definitions", "/tasks", f"/instances/{started['instance']}/path", "/instances"):
        assert app.test_client().get(url).status_code == 401
