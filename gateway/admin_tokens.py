"""The admin console's 服务令牌 page: the service tokens of downstream systems (name, permissions,
issued, expires, status), withdrawn one by one (撤销, confirmed first) and issued (签发: the token is
shown on the answer page once and kept nowhere). Needs the center permission 服务令牌; the auth service
checks it again and audits both."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError
from hall_common.permissions import SERVICE_PERMISSIONS

from . import session as sessions
from .admin_groups import auth_change
from .console import console
from .session import CENTER_KEY

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")

STATUS_NAMES = {"active": "有效", "withdrawn": "已撤销", "expired": "已过期"}
ISSUERS = {"cli": "命令行", "deploy": "部署程序"}
FIELD_NAMES = {"name": "系统名称", "permissions": "权限", "days": "有效期"}


def _auth() -> Any:
    return sessions.client("auth", CENTER_KEY)


def _page(issued: dict[str, Any] | None = None, form: dict[str, Any] | None = None, status: int = 200) -> Any:
    page = render_template("admin/tokens.html", tokens=_auth().get("/service-tokens")["items"], issued=issued,
                           form=form or {"name": "", "permissions": ["push"], "days": "365"},
                           permissions=SERVICE_PERMISSIONS, status_names=STATUS_NAMES, issuers=ISSUERS)
    # The page that shows a new token once must not be kept by the browser or a proxy.
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/")
@console("service_tokens")
def tokens() -> Any:
    return _page()


@bp.route("/", methods=["POST"])
@console("service_tokens")
def issue() -> Any:
    chosen = [p for p in request.form.getlist("permissions") if p in SERVICE_PERMISSIONS]
    days_text = request.form.get("days", "365").strip()
    form = {"name": request.form.get("name", "").strip(), "permissions": chosen, "days": days_text}
    days = int(days_text) if days_text.isdigit() and len(days_text) < 6 else 0
    try:
        issued = _auth().post("/service-tokens", {"name": form["name"], "permissions": chosen, "days": days})
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        fields = exc.errors.get("json", {})
        message = "；".join(f"{FIELD_NAMES.get(n, n)}：{_text(m)}" for n, m in fields.items()) or exc.message
        flash(message, "error")
        return _page(form=form, status=422)
    # Rendered, not redirected: the token must not travel through the session cookie.
    return _page(issued=issued)


@bp.route("/<token_id>/withdraw", methods=["POST"])
@console("service_tokens")
def withdraw(token_id: str) -> Any:
    name = request.form.get("name", "")
    auth_change(lambda: _auth().post(f"/service-tokens/{quote(token_id, safe='')}/withdraw", {}),
                f"已撤销服务令牌「{name}」，各服务将在数秒内拒绝该令牌")
    return redirect(url_for("tokens.tokens"))


def _text(messages: Any) -> str:
    if isinstance(messages, list):
        return "；".join(_text(m) for m in messages)
    if isinstance(messages, dict):
        return "；".join(_text(m) for m in messages.values())
    return str(messages)
