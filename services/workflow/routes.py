"""HTTP routes of the workflow service: definitions (designer), the center's tasks, instances."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.errors import BusinessError
from hall_common.schemas import PageQuery
from hall_common.security import current_principal, require_employer, require_reader

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

# -- definitions -----------------------------------------------------------------------------------

@blp.route("/definitions")
@allow("center")
@blp.response(200, DefinitionListSchema)
def list_definitions() -> dict[str, Any]:
    return {"items": definitions.newest_per_key()}


@blp.route("/groups/<code>/processes")
@allow("center:group_admin", "center:process_design")
@blp.response(200, DefinitionListSchema)
def processes_naming_group(code: str) -> dict[str, Any]:
    """What auth asks before it deletes a center group: the processes that send tasks to it."""
    return {"items": definitions.naming_group(code)}


@blp.route("/definitions/<process_key>/versions")
@allow("center:process_design", "center:process_monitor")
@blp.response(200, DefinitionListSchema)
def list_versions(process_key: str) -> dict[str, Any]:
    return {"items": definitions.versions(process_key)}


@blp.route("/definitions/<process_key>/versions/<int:number>")
@allow("center:process_design", "center:process_monitor")
@blp.response(200, DefinitionDetailSchema)
def get_version(process_key: str, number: int) -> Any:
    return definitions.version(process_key, number)


@blp.route("/definitions/<process_key>/validate", methods=["POST"])
@allow("center:process_design")
@blp.arguments(BpmnSchema)
@blp.response(200, ValidatedSchema)
def validate_definition(body: dict[str, Any], process_key: str) -> dict[str, Any]:
    parsed = definitions.check(process_key, body["bpmn_xml"])
    return {"message": "校验通过", "name": parsed.name}


@blp.route("/definitions/<process_key>/deploy", methods=["POST"])
@allow("center:process_design")
@blp.arguments(DeploySchema)
@blp.response(201, DefinitionSchema)
def deploy_definition(body: dict[str, Any], process_key: str) -> Any:
    principal = current_principal()
    return definitions.deploy(principal, process_key, body["bpmn_xml"], body["note"], body["base_version"])


# -- the center's tasks ----------------------------------------------------------------------------

@blp.route("/tasks")
@allow("center")
@blp.arguments(TaskListQuery, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(query: dict[str, Any]) -> dict[str, Any]:
    principal = current_principal()
    items, total = usertasks.list_tasks(principal, query)
    return {"items": items, "total": total}


@blp.route("/tasks/<int:task_id>")
@allow("center")
@blp.response(200, TaskViewSchema)
def get_task(task_id: int) -> dict[str, Any]:
    return usertasks.get_task(task_id)


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@allow("center")
@blp.response(200, TaskViewSchema)
def claim_task(task_id: int) -> dict[str, Any]:
    return usertasks.claim(current_principal(), task_id)


@blp.route("/tasks/<int:task_id>/release", methods=["POST"])
@allow("center")
@blp.response(200, TaskViewSchema)
def release_task(task_id: int) -> dict[str, Any]:
    return usertasks.release(current_principal(), task_id)


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@allow("center")
@blp.arguments(CompleteSchema)
@blp.response(200, TaskViewSchema)
def complete_task(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    principal = current_principal()
    return usertasks.complete(principal, task_id, body["decision"], body["opinion"])


@blp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@allow("center:process_monitor")
@blp.arguments(ReassignSchema)
@blp.response(200, TaskViewSchema)
def reassign_task(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    principal = current_principal()
    return usertasks.reassign(principal, task_id, body["login_name"].strip(), body["display_name"].strip())


# -- instances -------------------------------------------------------------------------------------

@blp.route("/instances")
@allow("center:process_monitor")
@blp.arguments(InstanceListQuery, location="query")
@blp.response(200, InstancePageSchema)
def list_instances(query: dict[str, Any]) -> dict[str, Any]:
    items, total = instances.list_instances(query)
    return {"items": items, "total": total}


@blp.route("/employers/<employer_no>/open-businesses")
@allow("employer", "center", "service:closure_check")
@blp.arguments(PageQuery, location="query")
@blp.response(200, InstancePageSchema)
def open_businesses(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """The employer's businesses in approval (零余额销户 is refused while any is)."""
    require_reader(employer_no)
    items, total = instances.open_of_employer(employer_no, query["page"], query["per_page"])
    return {"items": items, "total": total}


@blp.route("/instances/<int:instance_id>/path")
@allow("employer", "center")
@blp.response(200, PathSchema)
def instance_path(instance_id: int) -> dict[str, Any]:
    # Center staff, or the owning employer (another employer gets 404 inside).
    return paths.instance_path(current_principal(), instance_id)


@blp.route("/businesses/<business_type>/<business_id>/instance")
@allow("employer", "center")
@blp.response(200, InstanceSchema)
def business_instance(business_type: str, business_id: str) -> Any:
    instance = instances.by_business(business_type, business_id)
    require_employer(instance.employer_no, missing=INSTANCE_MISSING)
    return instance


@blp.route("/instances/<int:instance_id>/end", methods=["POST"])
@allow("employer")
@blp.arguments(ReasonSchema)
@blp.response(200, InstanceSchema)
def end_instance(body: dict[str, Any], instance_id: int) -> Any:
    return instances.end_by_employer(current_principal(), instance_id, body["reason"].strip())


@blp.route("/instances/<int:instance_id>/terminate", methods=["POST"])
@allow("center:process_monitor")
@blp.arguments(RequiredReasonSchema)
@blp.response(200, InstanceSchema)
def terminate_instance(body: dict[str, Any], instance_id: int) -> Any:
    principal = current_principal()
    reason = body["reason"].strip()
    if not reason:
        raise BusinessError("请填写终止原因", 422, {"json": {"reason": ["请填写终止原因"]}})
    return instances.terminate(principal, instance_id, reason)
