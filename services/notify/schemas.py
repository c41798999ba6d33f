from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from hall_common.schemas import PageQuery

from .models import ALL, CHANNELS, LIST, ONE


class InboxItemSchema(Schema):
    id = fields.Integer()
    box = fields.String()
    business_type = fields.String()
    business_id = fields.String()
    title = fields.String()
    content = fields.String()
    channel = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class BoxItemSchema(InboxItemSchema):
    """An item of any box. 待办 / 已办 / 我发起的 list approval processes: their ``id`` is the process
    instance id (not an inbox item id) and the process fields below are present."""

    instance_id = fields.Integer()
    # The employer permission needed to resubmit or end it (the gateway offers 办理 / 结束流程 by it).
    permission = fields.String()
    status = fields.String()  # running | returned | completed | ended | terminated
    status_name = fields.String()
    outcome = fields.String(allow_none=True)  # approved | rejected | ended | terminated
    task_name = fields.String(allow_none=True)
    handler = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    initiator = fields.String()
    initiator_login = fields.String()
    summary = fields.String()
    started_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    acted_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    can_end = fields.Boolean()


class CountsSchema(Schema):
    message = fields.Integer()
    todo = fields.Integer()
    done = fields.Integer()
    initiated = fields.Integer()
    read = fields.Integer()


class InboxPageSchema(Schema):
    items = fields.List(fields.Nested(BoxItemSchema))
    total = fields.Integer()
    counts = fields.Nested(CountsSchema)  # every box's size, for the tabs beside the page


class InitiatorQuery(Schema):
    # 我发起的 of one operator: the submitting operator's login name (``initiator_login`` of the events);
    # 待办 and 已办 stay the employer's.
    initiator = fields.String(load_default=None, validate=validate.Length(max=50))


class InboxQuery(PageQuery, InitiatorQuery):
    # 更多: the full history filtered by date (inclusive) and by business.
    start_date = fields.Date(load_default=None)
    end_date = fields.Date(load_default=None)
    business_type = fields.String(load_default=None, validate=validate.Length(max=50))

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("结束日期不能早于开始日期", "end_date")


class ResultSchema(Schema):
    message = fields.String()
    item = fields.Nested(InboxItemSchema, allow_none=True)


LIST_MAX = 1000


class PushSchema(Schema):
    """A message to push: to one employer, to a list, or to every employer."""

    client_key = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9._:-]{8,64}$", error="应为8到64位字母、数字或._:-"))
    target = fields.String(required=True, validate=validate.OneOf((ONE, LIST, ALL), error="应为 one、list 或 all"))
    employer_nos = fields.List(fields.String(validate=validate.Regexp(r"^[0-9A-Za-z]{1,20}$",
                                                                      error="单位账号格式不正确")),
                               load_default=list,
                               validate=validate.Length(max=LIST_MAX, error=f"单位列表最多{LIST_MAX}个单位"))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS, error=f"应为{'、'.join(CHANNELS)}之一"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=100, error="应为1到100个字"))
    content = fields.String(required=True, metadata={"multiline": True},
                            validate=validate.Length(min=1, max=2000, error="应为1到2000个字"))

    @pre_load
    def _strip_numbers(self, data: Any, **_: Any) -> Any:
        # A number pasted with a space around it is the same employer (and the same push when retried).
        if isinstance(data, dict) and isinstance(data.get("employer_nos"), list):
            data = {**data, "employer_nos": [n.strip() if isinstance(n, str) else n for n in data["employer_nos"]]}
        return data

    @validates_schema
    def _recipients(self, data: dict[str, Any], **_: Any) -> None:
        nos = data.get("employer_nos") or []
        if data.get("target") == ONE and len(nos) != 1:
            raise ValidationError("推送给单个单位时应填写一个单位账号", "employer_nos")
        if data.get("target") == LIST and not nos:
            raise ValidationError("推送给单位列表时应至少填写一个单位账号", "employer_nos")
        if data.get("target") == ALL and nos:
            raise ValidationError("推送给全部单位时不填写单位账号", "employer_nos")
        if data.get("title", "").strip() == "" or data.get("content", "").strip() == "":
            raise ValidationError("标题和内容不能为空", "content")


class PushOutSchema(Schema):
    id = fields.Integer()
    sender = fields.String()
    sender_role = fields.String()
    client_key = fields.String()
    target = fields.String()
    channel = fields.String()
    title = fields.String()
    content = fields.String()
    status = fields.String()  # storing | done
    stored = fields.Integer()  # employers reached so far
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class PushResultSchema(Schema):
    message = fields.String()
    push = fields.Nested(PushOutSchema)


class PushPageSchema(Schema):
    items = fields.List(fields.Nested(PushOutSchema))
    total = fields.Integer()
