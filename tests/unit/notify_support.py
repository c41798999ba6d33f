"""The workflow's process events as the notify service receives them, for the tests of the employer's
待办 / 已办 / 我发起的."""

from __future__ import annotations

from typing import Any

from hall_common.events import make_event

from .conftest import EMPLOYER_NO


def process_events(instance_id: int, *, employer_no: str = EMPLOYER_NO, initiator: str = "王晓燕",
                   initiator_login: str = "wangxy", end: str = "completed") -> list[dict[str, Any]]:
    """One instance's life in the order the workflow emits it: returned once, resubmitted, then
    approved (end="completed"), or ended by the employer after the return (end="ended")."""
    common = {"instance_id": instance_id, "business_type": "employer_change", "business_id": str(instance_id),
              "title": "单位信息变更", "employer_no": employer_no, "employer_name": "太原市示例科技有限公司",
              "initiator": initiator, "initiator_login": initiator_login}
    task1 = {"task_id": 1, "task_name": "经办审核"}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("process.started", {"summary": "单位地址、邮政编码"}),
        ("task.created", dict(task1, candidate_group="handler")),
        ("task.claimed", dict(task1, handler="中心审核员李明")),
        ("task.completed", dict(task1, handler="中心审核员李明", decision="return", opinion="邮编与地址不符")),
        ("process.returned", {"task_name": "经办审核", "handler": "中心审核员李明", "opinion": "邮编与地址不符"}),
    ]
    if end == "ended":
        steps.append(("process.ended", {"by": "employer", "reason": "不再办理"}))
    else:
        task2 = {"task_id": 2, "task_name": "经办审核"}
        steps += [
            ("process.resubmitted", {}),
            ("task.created", dict(task2, candidate_group="handler")),
            ("task.completed", dict(task2, handler="中心审核员李明", decision="approve", opinion="同意")),
            ("process.completed", {"outcome": "approved", "approver": "中心审核员李明", "opinion": "同意"}),
        ]
    return [
        make_event("workflow", event_type, dict(common, **data, seq=seq, at=f"2026-11-28T03:{seq:02d}:00.000Z"))
        for seq, (event_type, data) in enumerate(steps, start=1)
    ]
