"""Request guards every service runs before its routes: hostile input is refused at the door.

Marshmallow checks each declared field (``hall_common.schemas``); these guards cover what a schema
never sees or cannot survive: JSON nested so deep that parsing recurses out of stack, a lone
surrogate or control character in a field *name*, a body too large, values of undeclared fields
(``fields.Dict``), query strings, and path parameters that no database can take (NUL, a surrogate,
an integer beyond SQL INTEGER). Each refusal is a 4xx in the shared error format, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, abort, request

from .errors import BusinessError
from .schemas import CONTROL, CONTROL_MULTILINE, INT32_MAX, SURROGATE

MAX_JSON_DEPTH = 32
TOO_DEEP = f"数据嵌套层数过多（最多{MAX_JSON_DEPTH}层）"
CONTROL_TEXT = "不能包含控制字符"
SURROGATE_TEXT = "含有无效字符"
NAME_TEXT = "字段名称含有控制字符或无效字符"


def init_app(app: Flask, max_body_bytes: int) -> None:
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.before_request(refuse_unsized_body_at_limit)
    app.before_request(_guard_request)


def refuse_unsized_body_at_limit() -> None:
    """A chunked body (no Content-Length) is read only up to MAX_CONTENT_LENGTH: Werkzeug stops there
    without a word, so a form or JSON would arrive cut off. Read here (bounded by the limit and kept for
    the route), a body that reaches the limit is refused 413, as a sized one over it is before reading."""
    if request.content_length is not None or "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    limit = request.max_content_length
    if limit is not None and len(request.get_data(cache=True)) >= limit:
        abort(413)


def _guard_request() -> None:
    _guard_path()
    _guard_query()
    if request.is_json:
        _guard_json()


def _guard_path() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and (CONTROL.search(value) or SURROGATE.search(value)):
            abort(404)
        # Integer ids are SQL INTEGER: PostgreSQL refuses a larger value with an error, not a miss.
        if isinstance(value, int) and not 0 <= value <= INT32_MAX:
            abort(404)


def _guard_query() -> None:
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        if CONTROL.search(name) or SURROGATE.search(name):
            errors[_printable(name)] = [NAME_TEXT]
        elif CONTROL.search(value) or SURROGATE.search(value):
            errors[name] = [CONTROL_TEXT]
    if errors:
        raise BusinessError(f"查询参数{CONTROL_TEXT}", 422, {"query": errors})


def refuse_hostile_json() -> None:
    """The JSON body's depth, names and text (BusinessError 422); the gateway runs it on its own
    script endpoints, whose values it passes on to the services."""
    _guard_json()


def _guard_json() -> None:
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug answers 413 here
    if not raw:
        return
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BusinessError(TOO_DEEP, 422, {"json": [TOO_DEEP]}) from None
    except ValueError:
        return  # malformed JSON: the route's parser answers 400 as usual
    errors = _walk(data)
    if errors:
        message = errors.pop("_message")
        raise BusinessError(str(message), 422, {"json": errors})


def _walk(data: Any) -> dict[str, Any]:
    """Depth, names and text of the whole document, without recursion (the input picks the depth)."""
    errors: dict[str, Any] = {}
    stack: list[tuple[list[str], Any, int]] = [([], data, 1)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BusinessError(TOO_DEEP, 422, {"json": [TOO_DEEP]})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                name = str(key)
                if isinstance(key, str) and (CONTROL.search(key) or SURROGATE.search(key)):
                    _put(errors, [*path, _printable(name)], NAME_TEXT)
                    continue
                stack.append(([*path, name], child, depth + 1))
        elif isinstance(value, str):
            if SURROGATE.search(value):
                _put(errors, path, SURROGATE_TEXT)
            elif CONTROL_MULTILINE.search(value):
                _put(errors, path, CONTROL_TEXT)
    if errors:
        errors["_message"] = _first(errors)
    return errors


def _put(errors: dict[str, Any], path: list[str], text: str) -> None:
    if not path:
        errors.setdefault("_schema", []).append(text)
        return
    node = errors
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[path[-1]] = [text]


def _first(errors: dict[str, Any]) -> str:
    node: Any = errors
    names: list[str] = []
    while isinstance(node, dict) and node:
        key = next(iter(node))
        names.append(key)
        node = node[key]
    text = node[0] if isinstance(node, list) and node else CONTROL_TEXT
    return f"{'.'.join(names)}：{text}"


def _printable(name: str) -> str:
    """A field name safe to put in a JSON answer: control characters and surrogates as \\u escapes."""
    return "".join(
        f"\\u{ord(c):04x}" if CONTROL.match(c) or SURROGATE.match(c) else c for c in name
    )
