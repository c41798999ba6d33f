from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.security import require_center, require_employer

from . import services
from .schemas import CompleteSchema, DiagramSchema, TaskListQuery, TaskPageSchema, TaskViewSchema

blp = Blueprint("workflow", __name__, description="Approval processes and the center's tasks")


@blp.route("/tasks")
@blp.arguments(TaskListQuery, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(query: dict[str, Any]) -> dict[str, Any]:
    require_center()
    items, total = services.list_tasks(query["status"], query["page"], query["per_page"])
    return {"items": items, "total": total}


@blp.route("/tasks/<int:task_id>")
@blp.response(200, TaskViewSchema)
def get_task(task_id: int) -> dict[str, Any]:
    require_center()
    return services.get_task(task_id)


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, TaskViewSchema)
def complete_task(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    principal = require_center()
    return services.complete_task(principal, task_id, body["decision"], body["opinion"])


@blp.route("/instances/<int:instance_id>/diagram")
@blp.response(200, DiagramSchema)
def diagram(instance_id: int) -> dict[str, Any]:
    view = services.diagram(instance_id)
    require_employer(view["instance"].employer_no, missing="流程实例不存在")
    return view
