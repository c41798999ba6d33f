"""Marshmallow defaults for every service, set once here rather than in every schema.

- Validation errors in Chinese, so every schema's errors read as the UI does.
- Every text field refuses control characters and lone surrogates: PostgreSQL refuses NUL in text,
  and a stored NUL or surrogate breaks every later step (the event, the worker, the JSON answer).
  A field that accepts several lines says so: ``fields.String(metadata={"multiline": True})``
  allows tab, line feed and carriage return (a textarea sends CRLF).
- Integers stay within SQL ``INTEGER`` (32 bits, what every id column is), so neither driver overflows
  on a fuzzed id; a field that holds more says ``metadata={"bigint": True}`` (64 bits).
- Timestamps are stored naive UTC (``hall_common.db.utcnow``); they are answered with their zone
  (``+00:00``), as the OpenAPI ``date-time`` format and ISO 8601 require.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {"required": "不能为空", "null": "不能为空", "validator_failed": "格式不正确"},
    fields.String: {"invalid": "应为文本", "invalid_utf8": "应为文本", "control": "不能包含控制字符",
                    "surrogate": "含有无效字符"},
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

# C0 controls and DEL; tab, LF and CR are allowed only in multiline fields.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

_string_deserialize = fields.String._deserialize
_integer_validated = fields.Integer._validated
_datetime_serialize = fields.DateTime._serialize


def _checked_text(self: fields.String, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
    text = _string_deserialize(self, value, attr, data, **kwargs)
    if SURROGATE.search(text):
        raise self.make_error("surrogate")
    pattern = CONTROL_MULTILINE if self.metadata.get("multiline") else CONTROL
    if pattern.search(text):
        raise self.make_error("control")
    return text


def _bounded_integer(self: fields.Integer, value: Any) -> int:
    number: int = _integer_validated(self, value)
    limit = INT64_MAX if self.metadata.get("bigint") else INT32_MAX
    if not -limit - 1 <= number <= limit:
        raise self.make_error("too_large")
    return number


def _zoned_datetime(self: fields.DateTime, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _datetime_serialize(self, value, attr, obj, **kwargs)


fields.String._deserialize = _checked_text  # type: ignore[method-assign]
fields.Integer._validated = _bounded_integer  # type: ignore[method-assign]
fields.DateTime._serialize = _zoned_datetime  # type: ignore[method-assign,assignment]

def decimal_strings_in_openapi(_converter: Any, field: fields.Field, **_: Any) -> dict[str, Any]:
    """Money goes out as a string ("1234.50", exact); say so in the OpenAPI document, which would
    otherwise declare every Decimal a JSON number."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    return {}


MAX_PAGE = 1_000_000
MAX_PER_PAGE = 200


class PageQuery(Schema):
    page = fields.Integer(
        load_default=1, validate=validate.Range(1, MAX_PAGE, error=f"页码应为1到{MAX_PAGE}之间的整数")
    )
    per_page = fields.Integer(
        load_default=20, validate=validate.Range(1, MAX_PER_PAGE, error=f"每页条数应为1到{MAX_PER_PAGE}之间的整数")
    )
