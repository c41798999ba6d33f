"""The workflow service's tests: its app, the center's groups as the auth service would answer, a
business submitted as its owner would, and the center users who take the tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from hall_common import db
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from hall_common.security import Principal
from services.workflow import definitions

from ..conftest import CENTER_GROUPS, AnyDb, auth, make_app, outbox_events, token_for

HERE = Path(__file__).resolve().parent
EMPLOYER_NO = "100100001"
THREADS = 10  # how many racers the concurrency tests release at once
TASK_TAKEN = "该任务已办理，请刷新后查看"
GROUPS = [
    {"code": "handler", "name": "经办"}, {"code": "reviewer", "name": "复核"}, {"code": "chief", "name": "负责人"},
]


@pytest.fixture(autouse=True)
def center_groups(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """What auth's GET /groups answers; a test may add or remove groups in the list."""
    groups = [dict(g) for g in GROUPS]
    monkeypatch.setattr(definitions, "center_groups", lambda: groups)
    return groups


def workflow_app() -> Flask:
    """The service on a fresh database whose employer change process is the tests' own file (the
    shipped one may change); other business types deploy their shipped file when first needed."""
    made = make_app("workflow", seed=False)
    with made.app_context():
        definitions.install("employer_change", bpmn("employer_change.bpmn"))
        db.session().commit()
    return made


@pytest.fixture
def app() -> Flask:
    return workflow_app()


@pytest.fixture
def on_each_db(any_db: AnyDb) -> Flask:
    """The workflow app on SQLite, then on a throwaway PostgreSQL database: a module whose tests race
    takes it as its app (app = on_each_db)."""
    return any_db.app("workflow", workflow_app)


def center(login: str = "center01", name: str = "中心审核员李明", groups: tuple[str, ...] | None = None,
           admin: bool = True) -> dict[str, str]:
    """A center user's token: by default the demo admin, in every default group."""
    from services.auth.services import issue_token

    return auth(issue_token(Principal(
        login_name=login, role="center", display_name=name,
        permissions=frozenset(ALL_CENTER_PERMISSIONS if admin else ()),
        groups=frozenset(CENTER_GROUPS if groups is None else groups),
    )))


def employer(employer_no: str = EMPLOYER_NO) -> dict[str, str]:
    return auth(token_for(employer_no=employer_no))


def event(type_: str, business_id: str = "1", business_type: str = "employer_change",
          variables: dict[str, Any] | None = None, summary: str = "单位地址",
          initiator_login: str = "wangxy") -> dict[str, Any]:
    return make_event("employer", type_, {
        "business_type": business_type, "business_id": business_id, "owner": "employer",
        "title": "单位信息变更", "employer_no": EMPLOYER_NO, "employer_name": "太原市示例科技有限公司",
        "initiator": "王晓燕", "initiator_login": initiator_login, "summary": summary, "row_count": 1,
        "variables": variables or {},
    })


def submit(app: Flask, business_id: str = "1", business_type: str = "employer_change", **kwargs: Any) -> str:
    with app.app_context():
        return consume(event("business.submitted", business_id, business_type, **kwargs))


def resubmit(app: Flask, business_id: str = "1", business_type: str = "employer_change", **kwargs: Any) -> str:
    with app.app_context():
        return consume(event("business.resubmitted", business_id, business_type, **kwargs))


def tasks(app: Flask, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    response = app.test_client().get("/tasks", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["items"])


def the_task(app: Flask, business_id: str = "1", headers: dict[str, str] | None = None) -> dict[str, Any]:
    [row] = [r for r in tasks(app, headers or center()) if r["instance"]["business_id"] == business_id]
    return row


def post(app: Flask, url: str, headers: dict[str, str], body: Any = None) -> Any:
    return app.test_client().post(url, json=body if body is not None else {}, headers=headers)


def complete(app: Flask, task_id: int, decision: str, opinion: str = "", headers: dict[str, str] | None = None) -> Any:
    return post(app, f"/tasks/{task_id}/complete", headers or center(), {"decision": decision, "opinion": opinion})


def events_of(app: Flask, *types: str) -> list[dict[str, Any]]:
    return [e for e in outbox_events(app) if not types or e["type"] in types]


def bpmn(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")



# The shipped process with 结束流程 allowed to the initiator.
MAY_END = bpmn("employer_change.bpmn").replace(
    'isExecutable="true">', 'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="initiator_may_end" value="true" /></spiffworkflow:properties>'
    '</bpmn:extensionElements>', 1)


def answer(response: Any) -> tuple[int, str]:
    """A response as (status, message): the message of a refusal, "" for a success."""
    body = response.get_json()
    return response.status_code, body.get("message", "") if response.status_code != 200 else ""
