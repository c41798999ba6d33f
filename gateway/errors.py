"""Error pages: every answer in Chinese (the manual's language, not the browser's or Werkzeug's
English "Not Found"), framed by the console the address belongs to: anything under /admin shows the
管理控制台 brand and its menu, everything else the employer hall's."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from hall_common.client import ServiceError

ERROR_MESSAGES = {
    404: "页面不存在，请检查地址是否正确",
    405: "不支持该操作方式，请通过页面上的按钮办理",
    413: "提交的内容过大",
    429: "操作过于频繁，请稍后再试",
    500: "系统繁忙，请稍后再试",
}
ERROR_TITLES = {403: "无权访问", 404: "页面不存在", 500: "系统繁忙"}
CSRF_MESSAGE = "页面已过期，请刷新页面后重试"


def in_center_console() -> bool:
    """The admin console's addresses, known or not: /admin and below."""
    return request.path == "/admin" or request.path.startswith("/admin/")


def error_page(message: str, status: int) -> Any:
    """The page (or, for a script, the JSON body) that tells the user what went wrong."""
    if request.is_json:
        return jsonify({"message": message}), status
    return render_template("error.html", message=message, status=status, center=in_center_console(),
                           title=ERROR_TITLES.get(status, "提示")), status


def register(app: Flask) -> None:
    def _http(error: HTTPException) -> Any:
        status = error.code or 500
        message = ERROR_MESSAGES.get(status, "请求有误，请返回后重试" if status < 500 else ERROR_MESSAGES[500])
        return error_page(message, status)

    def _csrf(error: CSRFError) -> Any:
        return error_page(CSRF_MESSAGE, 400)

    def _service(error: ServiceError) -> Any:
        return error_page(error.message, error.status if error.status >= 400 else 500)

    app.register_error_handler(CSRFError, _csrf)  # a BadRequest: Flask picks the most specific handler
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(InternalServerError, _http)  # also what an unexpected exception becomes
    app.register_error_handler(ServiceError, _service)
