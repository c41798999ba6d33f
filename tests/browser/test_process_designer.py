"""流程设计 as a center admin uses it: open the seal process (no approval by default), add a review task
for group 复核 with the real side panel, see a refusal mark the task at fault, deploy with a note. A
seal started before the deploy completed at once on version 1; one started after waits for 复核 in
the center inbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

from playwright.sync_api import Browser, expect

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.browser.test_admin_console_page import login_center
from tests.integration.events_support import shell
from tests.integration.helpers import Api, center_api, wait_for

KEY = "member_seal"
# The modeler's own API draws the task (drag and drop from the palette is unreliable headless): the
# start -> end flow is replaced by start -> 复核 -> end.
ADD_REVIEW_TASK = """() => {
  const modeler = window.hallModeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const start = registry.filter((e) => e.type === 'bpmn:StartEvent')[0];
  const end = registry.filter((e) => e.type === 'bpmn:EndEvent')[0];
  modeling.removeElements(registry.filter((e) => e.type === 'bpmn:SequenceFlow'));
  modeling.moveElements([end], { x: 160, y: 0 });
  const businessObject = modeler.get('bpmnFactory').create('bpmn:UserTask', { id: 'Task_review', name: '复核' });
  const shape = modeler.get('elementFactory').createShape({ type: 'bpmn:UserTask', businessObject });
  const task = modeling.createShape(shape, { x: start.x + 200, y: start.y + 18 }, start.parent);
  modeling.connect(start, task);
  modeling.connect(task, end);
  modeler.get('selection').select(task);
}"""


def _submit_seal(stack: Stack, business_id: str) -> None:
    shell(stack, "member", "emit", "business.submitted", json.dumps({
        "business_type": KEY, "business_id": business_id, "owner": "member", "title": "封存",
        "employer_no": demo.EMPLOYER_NO, "employer_name": demo.EMPLOYER_NAME, "initiator": "浏览器测试",
        "summary": f"封存 {business_id}", "row_count": 1, "variables": {}, "form": {},
    }, ensure_ascii=False))


def _instance(center: Api, business_id: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        response = center.call("GET", "workflow", f"/businesses/{KEY}/{business_id}/instance")
        body = response.json() if response.status_code == 200 else {}
        return body if body.get("status") == status else None

    return wait_for(reached, timeout=60, what=f"seal {business_id} {status}")


def test_a_review_task_added_in_the_designer_holds_the_next_seal(browser: Browser, stack: Stack) -> None:
    center = center_api(stack)
    original = center.get("workflow", f"/definitions/{KEY}/versions")["items"][0]
    original_xml = center.get("workflow", f"/definitions/{KEY}/versions/{original['version']}")["bpmn_xml"]
    before = f"seal-before-{uuid.uuid4().hex[:8]}"
    _submit_seal(stack, before)
    _instance(center, before, "completed")  # no approval: done at once

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login_center(page, stack)
    page.get_by_role("link", name="流程设计").click()
    page.locator(f'#definitions tr[data-key="{KEY}"]').get_by_role("link", name="设计").click()
    expect(page.locator("#designer[data-ready=true]")).to_be_attached()
    page.evaluate(ADD_REVIEW_TASK)
    message = page.locator("#designer-message")

    # No group yet: the check refuses, names the task and marks it.
    page.get_by_role("button", name="校验").click()
    expect(message).to_contain_text("任务「复核」(Task_review) 未指定候选组")
    expect(page.locator('#canvas g.djs-element.error[data-element-id="Task_review"]')).to_be_attached()
    expect(page.locator("#designer-panel h2")).to_have_text("用户任务")  # the faulty task is selected

    page.get_by_label("候选组").select_option(label="复核")
    page.get_by_role("button", name="校验").click()
    expect(message).to_have_text("校验通过")
    page.get_by_role("button", name="部署").click()
    expect(message).to_have_text("请填写部署说明")
    page.get_by_label("部署说明").fill("封存增加复核环节")
    page.get_by_role("button", name="部署").click()
    version = original["version"] + 1
    expect(page.get_by_role("alert").first).to_have_text(f"部署成功，当前版本为第{version}版")
    newest = page.locator("#versions tbody tr").first
    expect(newest).to_contain_text(f"第{version}版")
    expect(newest).to_contain_text("封存增加复核环节")

    after = f"seal-after-{uuid.uuid4().hex[:8]}"
    _submit_seal(stack, after)
    waiting = _instance(center, after, "running")
    assert center.get("workflow", f"/instances/{waiting['id']}/path")["current"] == ["Task_review"]
    done = _instance(center, before, "completed")
    assert center.get("workflow", f"/instances/{done['id']}/path")["version"] == original["version"]

    # The older version stays readable: no review task in it.
    page.locator(f'#versions tr[data-version="{original["version"]}"]').get_by_role("link", name="查看").click()
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    expect(page.locator('#diagram [data-element-id="Task_review"]')).to_have_count(0)

    # The seal waits in the 复核 group's inbox; claiming moves it to 我的任务.
    page.get_by_role("link", name="审批任务").click()
    row = page.locator("#tasks tbody tr", has_text=f"封存 {after}")
    expect(row).to_contain_text("复核")
    row.get_by_role("button", name="认领").click()
    expect(page.get_by_role("alert").first).to_have_text("认领成功")
    page.get_by_role("link", name="我的任务").click()
    mine = page.locator("#tasks tbody tr", has_text=f"封存 {after}")
    expect(mine).to_contain_text(demo.CENTER_NAME)
    task_id = mine.get_attribute("data-task-id")
    approved = center.call("POST", "workflow", f"/tasks/{task_id}/complete",
                           json={"decision": "approve", "opinion": "同意"})
    assert approved.status_code == 200, approved.text
    _instance(center, after, "completed")

    # Leave the stack's seal process as the other tests know it.
    restored = center.call("POST", "workflow", f"/definitions/{KEY}/deploy",
                           json={"bpmn_xml": original_xml, "note": "恢复默认流程"})
    assert restored.status_code == 201, restored.text


def test_a_process_opened_and_deployed_unchanged_is_refused_and_a_page_behind_a_newer_version_is_told(
        browser: Browser, stack: Stack) -> None:
    """As a new user tries it: open a shipped process, 校验, 部署 without an edit. The Modeler writes
    the file anew (attribute order, whitespace, namespaces), which is no new version. Then another
    admin deploys an edit while the page is open: this page's deploy is refused, naming that version."""
    key = "member_unseal"
    center = center_api(stack)
    original = center.get("workflow", f"/definitions/{key}/versions")["items"][0]
    original_xml = center.get("workflow", f"/definitions/{key}/versions/{original['version']}")["bpmn_xml"]

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login_center(page, stack)
    page.get_by_role("link", name="流程设计").click()
    page.locator(f'#definitions tr[data-key="{key}"]').get_by_role("link", name="设计").click()
    expect(page.locator("#designer[data-ready=true]")).to_be_attached()
    message = page.locator("#designer-message")
    page.get_by_role("button", name="校验").click()
    expect(message).to_have_text("校验通过")
    page.get_by_label("部署说明").fill("未作修改")
    page.get_by_role("button", name="部署").click()
    expect(message).to_have_text(f"流程与当前版本（第{original['version']}版）内容相同（仅格式或布局不同），无需重新部署")
    assert center.get("workflow", f"/definitions/{key}/versions")["items"][0]["version"] == original["version"]

    newer = original["version"] + 1
    other = center.call("POST", "workflow", f"/definitions/{key}/deploy", json={
        "bpmn_xml": original_xml.replace('name="启封完成"', 'name="启封办结"'), "note": "另一位管理员的修改",
        "base_version": original["version"]})
    assert other.status_code == 201, other.text
    try:
        page.evaluate("""() => {
          const modeler = window.hallModeler, registry = modeler.get('elementRegistry');
          const start = registry.filter((e) => e.type === 'bpmn:StartEvent')[0];
          modeler.get('modeling').updateProperties(start, { name: '确定启封（本页修改）' });
        }""")
        page.get_by_role("button", name="部署").click()
        expect(message).to_have_text(f"该流程已有新版本（版本{newer}），请重新打开后再部署")
        assert center.get("workflow", f"/definitions/{key}/versions")["items"][0]["note"] == "另一位管理员的修改"
    finally:
        restored = center.call("POST", "workflow", f"/definitions/{key}/deploy",
                               json={"bpmn_xml": original_xml, "note": "恢复默认流程"})
        assert restored.status_code == 201, restored.text
