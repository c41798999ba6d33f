"""A returned roster business corrected on the generic process page: the real member, workflow and
notify apps in process (a review task drawn into the registration's process, as a center admin would in
the designer), the gateway's 修改 and 删除 on the returned rows, then 重新提交 with the corrected rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from hall_common import db
from hall_common.client import ServiceClient, ServiceError
from hall_common.consumer import consume
from hall_common.events import subscribers
from services.workflow import definitions

from .conftest import auth, make_app, outbox_events, token_for
from .member_support import account_of, add, commit, registration, resident_id
from .test_gateway_business_types import alert, operator

PROCESSES = Path(__file__).resolve().parents[2] / "services" / "workflow" / "processes"
TYPE = "member_registration"


def _reviewed_registration() -> str:
    xml = (PROCESSES / "employer_change.bpmn").read_text(encoding="utf-8")
    return xml.replace("employer_change", TYPE).replace("单位信息变更", "缴存人登记")


class Stack:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.apps = {"member": make_app("member"), "workflow": make_app("workflow"), "notify": make_app("notify")}
        self.handed: set[str] = set()
        with self.apps["workflow"].app_context():
            definitions.install(TYPE, _reviewed_registration(), "center01", "登记增加经办审核")
            db.session().commit()
        apps = self.apps

        def request(client: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                    json: Any = None) -> Any:
            query = ("?" + urlencode(params, doseq=True)) if params else ""
            response = apps[client.service].test_client().open(path + query, method=method, json=json,
                                                               headers=client.headers)
            body = response.get_json()
            if response.status_code >= 400:
                raise ServiceError(client.service, response.status_code, body.get("message", ""), body.get("errors"))
            self.relay()
            return body

        monkeypatch.setattr(ServiceClient, "request", request)

    def relay(self) -> None:
        moved = True
        while moved:
            moved = False
            for app in self.apps.values():
                for event in outbox_events(app):
                    if event["id"] not in self.handed:
                        self.handed.add(event["id"])
                        moved = True
                        for target in subscribers(event):
                            if target in self.apps:
                                with self.apps[target].app_context():
                                    consume(event)

    def center(self, decision: str, opinion: str) -> None:
        workflow = self.apps["workflow"].test_client()
        center = auth(token_for("center", None))
        [row] = workflow.get("/tasks", headers=center).get_json()["items"]
        done = workflow.post(f"/tasks/{row['task']['id']}/complete", json={"decision": decision, "opinion": opinion},
                             headers=center)
        assert done.status_code == 200, done.get_json()
        self.relay()


def test_returned_rows_are_corrected_and_removed_on_the_process_page_then_resubmitted(
        monkeypatch: pytest.MonkeyPatch, employer_headers: dict[str, str]) -> None:
    stack = Stack(monkeypatch)
    member = stack.apps["member"]
    for serial in (400, 401):
        values = registration(f"退回{serial}", resident_id(serial))
        assert add(member, employer_headers, TYPE, values).status_code == 201
    assert commit(member, employer_headers, TYPE).status_code == 201
    stack.relay()
    stack.center("return", "第一行基数有误")

    hall = operator(["member_register"])
    todo = hall.get("/inbox/todo").get_data(as_text=True)
    instance_id = int(re.search(r'href="/processes/(\d+)">打开', todo).group(1))  # type: ignore[union-attr]
    page = hall.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert "开户清册" in page and page.count('class="correct-row"') == 2 and page.count("remove-row") == 2
    edit_links = re.findall(r'href="(/processes/\d+/rows/\d+[^"]*)" class="correct-row"', page)
    form = hall.get(edit_links[0].replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="5000.00"' in form and "保存修改" in form

    refused = hall.post(edit_links[0].replace("&amp;", "&"), data={**registration("退回400", resident_id(400)),
                                                                   "base": "五千"})
    assert refused.status_code == 200 and "缴存基数" in refused.get_data(as_text=True)
    fixed = hall.post(edit_links[0].replace("&amp;", "&"), data=registration("退回400", resident_id(400), base="5200"))
    assert alert(hall, fixed) == "修改成功，可继续修改或重新提交"
    second_row = re.findall(r'action="(/processes/\d+/rows/\d+/delete)"', page)[1]
    assert alert(hall, hall.post(second_row)) == "删除成功"
    page = hall.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert "<td>5200.00</td>" in page and "退回401" not in page

    # Without the business's permission: neither the buttons nor the routes.
    other = operator(["employer_change"])
    assert "correct-row" not in other.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert alert(other, other.post(second_row)) == "当前账号无权办理该业务"

    assert alert(hall, hall.post(f"/processes/{instance_id}/resubmit")) == "已重新提交至中心审核"
    page = hall.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert "correct-row" not in page  # in approval again: nothing to correct
    stack.center("approve", "同意")
    opened = account_of(member, employer_headers, resident_id(400))
    assert opened is not None and opened["base"] == "5200.00"
    assert account_of(member, employer_headers, resident_id(401)) is None
