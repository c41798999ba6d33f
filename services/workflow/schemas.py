from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from hall_common.schemas import PageQuery
from hall_common.settings import SERVICES

BPMN_MAX_CHARS = 1_000_000  # "bodies up to 1 MB of XML"
KEY = validate.Length(1, 50, error="业务类型不正确")


class InstanceSchema(Schema):
    id = fields.Integer()
    business_type = fields.String()
    business_id = fields.String()
    owner = fields.String()
    title = fields.String()
    permission = fields.String()
    employer_no = fields.String()
    employer_name = fields.String()
    initiator = fields.String()
    initiator_login = fields.String()
    summary = fields.String()
    row_count = fields.Integer()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    end_reason = fields.String()
    seq = fields.Integer()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class InstancePageSchema(Schema):
    items = fields.List(fields.Nested(InstanceSchema))
    total = fields.Integer()


class FilterQuery(PageQuery):
    """A filter form's blank fields (``?status=&date_from=``, what a GET form sends) mean no filter."""

    @pre_load
    def _blank_is_absent(self, data: Any, **_: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value != ""}


class InstanceListQuery(FilterQuery):
    business_type = fields.String(load_default=None, validate=KEY)
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["running", "returned", "completed", "ended", "terminated"], error="流程状态不正确"))
    employer_no = fields.String(load_default=None, validate=validate.Length(1, 20, error="单位编号不超过20位"))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("开始日期不能晚于结束日期", "date_from")


class UserTaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    bpmn_id = fields.String()
    candidate_group = fields.String()
    status = fields.String()
    assignee = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class TaskViewSchema(Schema):
    task = fields.Nested(UserTaskSchema)
    instance = fields.Nested(InstanceSchema)


class TaskListQuery(FilterQuery):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "completed"], error="任务状态不正确"))
    scope = fields.String(load_default="group",
                          validate=validate.OneOf(["group", "mine", "all"], error="任务范围不正确"))
    business_type = fields.String(load_default=None, validate=KEY)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskViewSchema))
    total = fields.Integer()


class CompleteSchema(Schema):
    decision = fields.String(
        required=True,
        validate=validate.OneOf(["approve", "reject", "return"], error="审批结果应为通过、不通过或退回"),
    )
    opinion = fields.String(load_default="", validate=validate.Length(max=500, error="审批意见不能超过500个字"),
                            metadata={"multiline": True})  # a textarea: several lines are fine


class ReassignSchema(Schema):
    login_name = fields.String(required=True, validate=validate.Length(1, 50, error="请选择转办人"))
    display_name = fields.String(load_default="",
                                 validate=validate.Length(max=50, error="转办人姓名不能超过50个字"))


class ReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500, error="原因不能超过500个字"),
                           metadata={"multiline": True})


class RequiredReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500, error="请填写终止原因（不超过500个字）"),
                           metadata={"multiline": True})


class StepSchema(Schema):
    node = fields.String()
    name = fields.String()
    handler = fields.String()
    decision = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)


class PathSchema(Schema):
    instance = fields.Nested(InstanceSchema)
    bpmn_xml = fields.String()
    version = fields.Integer()
    completed = fields.List(fields.String())
    taken_flows = fields.List(fields.String())
    current = fields.List(fields.String())
    steps = fields.List(fields.Nested(StepSchema))
    can_end = fields.Boolean()


class DefinitionSchema(Schema):
    process_key = fields.String()
    name = fields.String()
    version = fields.Integer()
    note = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    initiator_may_end = fields.Boolean()


class DefinitionListSchema(Schema):
    items = fields.List(fields.Nested(DefinitionSchema))


class DefinitionDetailSchema(DefinitionSchema):
    bpmn_xml = fields.String()
    task_groups = fields.Dict(keys=fields.String(), values=fields.String())
    end_outcomes = fields.Dict(keys=fields.String(), values=fields.String())


class BpmnSchema(Schema):
    bpmn_xml = fields.String(
        required=True, validate=validate.Length(1, BPMN_MAX_CHARS, error="流程文件不能为空，且不超过1MB"),
        metadata={"multiline": True},
    )


class DeploySchema(BpmnSchema):
    note = fields.String(load_default="", validate=validate.Length(max=200, error="部署说明不能超过200个字"),
                         metadata={"multiline": True})
    # The version the designer opened (none for a first deploy, or a program that does not say): when
    # a newer one was deployed meanwhile, the deploy is refused instead of silently replacing it.
    base_version = fields.Integer(load_default=None, allow_none=True,
                                  validate=validate.Range(0, 1_000_000, error="基础版本号无效"))


class ValidatedSchema(Schema):
    message = fields.String()
    name = fields.String()


class SubmittedEventSchema(Schema):
    """The data of a ``business.submitted`` / ``business.resubmitted`` event (hall_common.business
    builds it); a payload that does not fit can never start a process, so it is refused at once rather
    than retried."""

    class Meta:
        unknown = "exclude"

    owner = fields.String(required=True, validate=validate.OneOf(SERVICES))
    business_type = fields.String(required=True, validate=validate.Length(1, 50))
    business_id = fields.String(required=True, validate=validate.Length(1, 50))
    title = fields.String(required=True, validate=validate.Length(1, 100))
    permission = fields.String(load_default="", validate=validate.Length(max=50))
    employer_no = fields.String(required=True, validate=validate.Length(1, 20))
    employer_name = fields.String(load_default="", validate=validate.Length(max=100))
    initiator = fields.String(load_default="", validate=validate.Length(max=50))
    initiator_login = fields.String(load_default="", validate=validate.Length(max=50))
    summary = fields.String(load_default="", validate=validate.Length(max=200))
    row_count = fields.Integer(load_default=0, validate=validate.Range(min=0))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
