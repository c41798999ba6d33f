"""Marshmallow defaults in Chinese, so every schema's validation errors read as the UI does."""

from __future__ import annotations

from marshmallow import Schema, fields

_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {"required": "不能为空", "null": "不能为空", "validator_failed": "格式不正确"},
    fields.String: {"invalid": "应为文本"},
    fields.Integer: {"invalid": "应为整数", "too_large": "数值过大"},
    fields.Decimal: {"invalid": "应为数字", "special": "应为数字"},
    fields.Date: {"invalid": "应为有效日期（YYYY-MM-DD）"},
    fields.DateTime: {"invalid": "应为有效时间"},
    fields.Boolean: {"invalid": "应为是或否"},
    fields.List: {"invalid": "应为列表"},
    fields.Nested: {"type": "格式不正确"},
}
for _field, _messages in _MESSAGES.items():
    _field.default_error_messages = {**_field.default_error_messages, **_messages}

Schema._default_error_messages = {  # type: ignore[attr-defined]
    **getattr(Schema, "_default_error_messages", {}),
    "type": "格式不正确",
    "unknown": "不支持的字段",
}


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=lambda n: n >= 1)
    per_page = fields.Integer(load_default=20, validate=lambda n: 1 <= n <= 200)
