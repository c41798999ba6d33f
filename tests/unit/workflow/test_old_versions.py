"""An instance lives on the version it started on, even when a later version no longer has the task
it waits on: its diagram, its path, its return and resubmission all use its own version's XML."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .conftest import center, complete, employer, post, resubmit, submit, tasks, the_task

NO_TASK = (Path(__file__).resolve().parents[3] / "services" / "workflow" / "processes" / "member_seal.bpmn").read_text(
    encoding="utf-8").replace("member_seal", "employer_change")


def path(app: Flask, instance_id: int, headers: dict[str, str]) -> dict:
    response = app.test_client().get(f"/instances/{instance_id}/path", headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_an_old_instance_keeps_the_task_the_new_version_deleted(app: Flask) -> None:
    submit(app, "1")
    old = the_task(app, "1")
    assert complete(app, old["task"]["id"], "return", "请补充").status_code == 200
    deployed = post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": NO_TASK, "note": "免审"})
    assert deployed.status_code == 201, deployed.get_json()

    # A new business takes version 2 and is approved at once: no task at all.
    submit(app, "2")
    assert [r["instance"]["business_id"] for r in tasks(app, center())] == []
    new = app.test_client().get("/businesses/employer_change/2/instance", headers=center()).get_json()
    new_path = path(app, new["id"], employer())
    assert (new["status"], new["outcome"], new_path["version"]) == ("completed", "approved", 2)
    assert "Task_center_review" not in new_path["bpmn_xml"] and new_path["current"] == []

    # The old one, returned on version 1, is resubmitted into version 1's review task.
    resubmit(app, "1")
    waiting = the_task(app, "1")
    assert waiting["task"]["bpmn_id"] == "Task_center_review"
    old_path = path(app, old["instance"]["id"], employer())
    assert old_path["version"] == 1 and 'id="Task_center_review"' in old_path["bpmn_xml"]
    assert old_path["current"] == ["Task_center_review"]
    assert set(old_path["completed"]) >= {"StartEvent_submitted"}
    assert [s["name"] for s in old_path["steps"]] == ["提交", "中心审核", "重新提交", "中心审核"]
    done = complete(app, waiting["task"]["id"], "approve")
    assert done.status_code == 200 and done.get_json()["instance"]["outcome"] == "approved"
    final = path(app, old["instance"]["id"], center())
    assert final["version"] == 1 and "Flow_approved" in final["taken_flows"] and final["current"] == []
    assert final["steps"][-1]["node"] == "EndEvent_approved"
