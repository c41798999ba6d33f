"""One JSON error format for every service: {"code", "status", "message", "errors"}.

``message`` is always Chinese text a person can read; ``errors`` maps a location such as
``json.changes.0.value`` to the reasons, so the gateway can name the row and field.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger(__name__)

DEFAULT_MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "无权办理该业务",
    404: "记录不存在",
    405: "不支持的操作",
    409: "业务状态已变化，请刷新后重试",
    413: "提交的数据过大",
    422: "提交的数据有误",
    500: "系统繁忙，请稍后再试",
    503: "服务暂不可用，请稍后再试",
}


class BusinessError(Exception):
    """A refusal the user should read: the status, a Chinese message and optional field errors."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


def error_body(status: int, name: str, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": name, "message": message}
    if errors:
        body["errors"] = errors
    return body


class HallApi(Api):
    def handle_http_exception(self, error: HTTPException) -> Any:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        message = data.get("message") or DEFAULT_MESSAGES.get(status, error.name)
        errors = data.get("messages") or data.get("errors")
        if status == 422 and isinstance(errors, dict):
            message = first_error_text(errors) or message
        response = jsonify(error_body(status, error.name, message, errors))
        response.status_code = status
        return response


def first_error_text(errors: Any) -> str | None:
    """The first leaf message of a nested marshmallow error dict, for a one-line summary."""
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list) and errors:
        return first_error_text(errors[0])
    if isinstance(errors, dict):
        for value in errors.values():
            text = first_error_text(value)
            if text:
                return text
    return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(BusinessError)
    def _business(error: BusinessError) -> Any:
        name = _status_name(error.status)
        response = jsonify(error_body(error.status, name, error.message, error.errors))
        response.status_code = error.status
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        log.exception("unhandled error")
        response = jsonify(error_body(500, _status_name(500), DEFAULT_MESSAGES[500]))
        response.status_code = 500
        return response


def _status_name(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")
