from __future__ import annotations

from marshmallow import Schema, fields, validate

from hall_common.schemas import PageQuery
from hall_common.settings import SERVICES


class InstanceSchema(Schema):
    id = fields.Integer()
    business_type = fields.String()
    business_id = fields.String()
    owner = fields.String()
    title = fields.String()
    employer_no = fields.String()
    employer_name = fields.String()
    initiator = fields.String()
    summary = fields.String()
    row_count = fields.Integer()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class UserTaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    bpmn_id = fields.String()
    candidate_group = fields.String()
    status = fields.String()
    assignee = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class TaskViewSchema(Schema):
    task = fields.Nested(UserTaskSchema)
    instance = fields.Nested(InstanceSchema)


class TaskListQuery(PageQuery):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "completed"]))


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskViewSchema))
    total = fields.Integer()


class CompleteSchema(Schema):
    decision = fields.String(
        required=True, validate=validate.OneOf(["approve", "reject"], error="审批结果应为通过或不通过")
    )
    opinion = fields.String(load_default="", validate=validate.Length(max=500, error="审批意见不能超过500个字"),
                            metadata={"multiline": True})  # a textarea: several lines are fine


class DiagramSchema(Schema):
    instance = fields.Nested(InstanceSchema)
    bpmn_xml = fields.String()
    version = fields.Integer()
    completed = fields.List(fields.String())
    current = fields.List(fields.String())
    history = fields.List(fields.Nested(UserTaskSchema))


class DefinitionSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    name = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()


class SubmittedEventSchema(Schema):
    """The data of a ``business.submitted`` event (hall_common.business builds it); a payload that does
    not fit can never start a process, so it is refused at once rather than retried."""

    class Meta:
        unknown = "exclude"

    owner = fields.String(required=True, validate=validate.OneOf(SERVICES))
    business_type = fields.String(required=True, validate=validate.Length(1, 50))
    business_id = fields.String(required=True, validate=validate.Length(1, 50))
    title = fields.String(required=True, validate=validate.Length(1, 100))
    employer_no = fields.String(required=True, validate=validate.Length(1, 20))
    employer_name = fields.String(load_default="", validate=validate.Length(max=100))
    initiator = fields.String(load_default="", validate=validate.Length(max=50))
    summary = fields.String(load_default="", validate=validate.Length(max=200))
    row_count = fields.Integer(load_default=0, validate=validate.Range(min=0))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
