"""The public page that verifies a print (docs/prints.md): no login; the code typed or carried by the
printed QR code (``/verify?code=``) is read here, and only a well-formed one is asked of the service
that issued it (the code's first letter). Rate limited per client address like the login, in Redis
shared by every gateway process (hall_common.ratelimit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request

from hall_common import verify
from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.ratelimit import WindowLimit
from hall_common.settings import get_settings

bp = Blueprint("verify", __name__)
TOO_MANY = "验证请求过于频繁，请稍后再试"
LIMIT_KEY = "hall.verify_limit"


@bp.route("/verify")
def verify_page() -> Any:
    typed = request.args.get("code")
    limit: WindowLimit = current_app.extensions[LIMIT_KEY]
    if not limit.hit(request.remote_addr or ""):
        return _answer(typed or "", TOO_MANY, 429)
    if typed is None:
        return render_template("verify.html", typed="")
    try:
        code = verify.normalize(typed)
    except BusinessError as exc:
        return _answer(typed, exc.message, exc.status)
    try:
        found = ServiceClient(verify.issuer(code)).get(f"/verifications/{code}")
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return _answer(typed, verify.NOT_FOUND if exc.status == 404 else exc.message, exc.status)
    issued = datetime.fromisoformat(found["issued_at"]).astimezone(verify.HALL_TIME)
    return render_template("verify.html", typed=found["code"], found=found,
                           issued_at=issued.strftime("%Y-%m-%d %H:%M:%S"))


def _answer(typed: str, message: str, status: int) -> Any:
    shown = typed if len(typed) <= 4 * verify.CODE_CHARS else ""  # a megabyte of input is not echoed back
    return render_template("verify.html", typed=shown, message=message), status


def init_app(app: Flask) -> None:
    app.extensions[LIMIT_KEY] = WindowLimit("hall-verify", lambda: get_settings().verify_limit_per_address,
                                            app.config.get("RATELIMIT_STORAGE_URI"))
