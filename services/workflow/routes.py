"""HTTP routes of the workflow service: definitions (designer), the center's tasks, instances."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from hall_common.errors import BusinessError
from hall_common.security import current_principal, require_center, require_center_admin, require_employer

from . import definitions, instances, paths, usertasks
from .schemas import (
    BpmnSchema,
    CompleteSchema,
    DefinitionDetailSchema,
    DefinitionListSchema,
    DefinitionSchema,
    DeploySchema,
    InstanceListQuery,
    InstancePageSchema,
    InstanceSchema,
    PathSchema,
    ReasonSchema,
    ReassignSchema,
    RequiredReasonSchema,
    TaskListQuery,
    TaskPageSchema,
    TaskViewSchema,
    ValidatedSchema,
)
from .store import INSTANCE_MISSING

blp = Blueprint("workflow", __name__, description="Approval processes and the center's tasks")

# Who may call a route is decided before its body is read: a caller without the right gets 403,
# not a 422 about a body they had no business sending. (Each route checks again, as it always did.)
CENTER_ADMIN_ONLY = frozenset({"validate_definition", "deploy_definition", "reassign_task", "terminate_instance"})
CENTER_ONLY = frozenset({"list_definitions", "processes_naming_group",
                         "list_versions", "get_version", "list_tasks", "get_task", "claim_task",
                         "release_task", "complete_task", "list_instances"})


@blp.before_request
def _caller_first() -> None:
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if endpoint in CENTER_ADMIN_ONLY:
        require_center_admin()
    elif endpoint in CENTER_ONLY:
        require_center()
    elif endpoint == "end_instance" and current_principal().role == "center":
        raise BusinessError(instances.EMPLOYER_ONLY, 403)


# -- definitions -----------------------------------------------------------------------------------

@blp.route("/definitions")
@blp.response(200, DefinitionListSchema)
def list_definitions() -> dict[str, Any]:
    require_center()
    return {"items": definitions.newest_per_key()}


@blp.route("/groups/<code>/processes")
@blp.response(200, DefinitionListSchema)
def processes_naming_group(code: str) -> dict[str, Any]:
    """What auth asks before it deletes a center group: the processes that send tasks to it."""
    require_center()
    return {"items": definitions.naming_group(code)}


@blp.route("/definitions/<process_key>/versions")
@blp.response(200, DefinitionListSchema)
def list_versions(process_key: str) -> dict[str, Any]:
    require_center()
    return {"items": definitions.versions(process_key)}


@blp.route("/definitions/<process_key>/versions/<int:number>")
@blp.response(200, DefinitionDetailSchema)
def get_version(process_key: str, number: int) -> Any:
    require_center()
    return definitions.version(process_key, number)


@blp.route("/definitions/<process_key>/validate", methods=["POST"])
@blp.arguments(BpmnSchema)
@blp.response(200, ValidatedSchema)
def validate_definition(body: dict[str, Any], process_key: str) -> dict[str, Any]:
    require_center_admin()
    parsed = definitions.check(process_key, body["bpmn_xml"])
    return {"message": "校验通过", "name": parsed.name}


@blp.route("/definitions/<process_key>/deploy", methods=["POST"])
@blp.arguments(DeploySchema)
@blp.response(201, DefinitionSchema)
def deploy_definition(body: dict[str, Any], process_key: str) -> Any:
    principal = require_center_admin()
    return definitions.deploy(principal, process_key, body["bpmn_xml"], body["note"], body["base_version"])


# -- the center's tasks ----------------------------------------------------------------------------

@blp.route("/tasks")
@blp.arguments(TaskListQuery, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(query: dict[str, Any]) -> dict[str, Any]:
    principal = require_center()
    items, total = usertasks.list_tasks(principal, query)
    return {"items": items, "total": total}


@blp.route("/tasks/<int:task_id>")
@blp.response(200, TaskViewSchema)
def get_task(task_id: int) -> dict[str, Any]:
    require_center()
    return usertasks.get_task(task_id)


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@blp.response(200, TaskViewSchema)
def claim_task(task_id: int) -> dict[str, Any]:
    return usertasks.claim(require_center(), task_id)


@blp.route("/tasks/<int:task_id>/release", methods=["POST"])
@blp.response(200, TaskViewSchema)
def release_task(task_id: int) -> dict[str, Any]:
    return usertasks.release(require_center(), task_id)


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, TaskViewSchema)
def complete_task(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    principal = require_center()
    return usertasks.complete(principal, task_id, body["decision"], body["opinion"])


@blp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@blp.arguments(ReassignSchema)
@blp.response(200, TaskViewSchema)
def reassign_task(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    principal = require_center_admin()
    return usertasks.reassign(principal, task_id, body["login_name"].strip(), body["display_name"].strip())


# -- instances -------------------------------------------------------------------------------------

@blp.route("/instances")
@blp.arguments(InstanceListQuery, location="query")
@blp.response(200, InstancePageSchema)
def list_instances(query: dict[str, Any]) -> dict[str, Any]:
    require_center()
    items, total = instances.list_instances(query)
    return {"items": items, "total": total}


@blp.route("/instances/<int:instance_id>/path")
@blp.response(200, PathSchema)
def instance_path(instance_id: int) -> dict[str, Any]:
    # Center staff, or the owning employer (another employer gets 404 inside).
    return paths.instance_path(current_principal(), instance_id)


@blp.route("/businesses/<business_type>/<business_id>/instance")
@blp.response(200, InstanceSchema)
def business_instance(business_type: str, business_id: str) -> Any:
    instance = instances.by_business(business_type, business_id)
    require_employer(instance.employer_no, missing=INSTANCE_MISSING)
    return instance


@blp.route("/instances/<int:instance_id>/end", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, InstanceSchema)
def end_instance(body: dict[str, Any], instance_id: int) -> Any:
    return instances.end_by_employer(current_principal(), instance_id, body["reason"].strip())


@blp.route("/instances/<int:instance_id>/terminate", methods=["POST"])
@blp.arguments(RequiredReasonSchema)
@blp.response(200, InstanceSchema)
def terminate_instance(body: dict[str, Any], instance_id: int) -> Any:
    principal = require_center_admin()
    reason = body["reason"].strip()
    if not reason:
        raise BusinessError("请填写终止原因", 422, {"json": {"reason": ["请填写终止原因"]}})
    return instances.terminate(principal, instance_id, reason)
