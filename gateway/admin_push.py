"""The center's 消息推送 page: send a message to one employer, a list or every employer, with its
channel, and follow how far each push has come (a broadcast is stored in the background)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("push", __name__, url_prefix="/admin")

TARGETS = {"one": "单个单位", "list": "单位列表", "all": "全部单位"}
CHANNELS = ("网上服务大厅", "短信", "微信", "柜面")
FIELD_NAMES = {"client_key": "推送编号", "target": "推送对象", "employer_nos": "单位账号", "channel": "推送渠道",
               "title": "标题", "content": "内容"}
PER_PAGE = 20
STATUS_NAMES = {"storing": "推送中", "done": "已完成"}


def _page_arg() -> int:
    value = request.args.get("page", "")
    return min(int(value), 1_000_000) if value.isdigit() and int(value) >= 1 else 1


def _numbers(text: str) -> list[str]:
    """The employer numbers typed or pasted: separated by spaces, new lines, commas or 、."""
    return [part for part in re.split(r"[\s,，、;；]+", text) if part]


@bp.route("/push", methods=["GET", "POST"])
@console("push")
def push() -> Any:
    notify = sessions.client("notify", CENTER_KEY)
    form: dict[str, str] = {"target": "one", "channel": CHANNELS[0], "employer_nos": "", "title": "", "content": "",
                            # One key per filled form: a double click or a resent form pushes once.
                            "client_key": uuid.uuid4().hex}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        body = {"client_key": form["client_key"], "target": form["target"], "channel": form["channel"],
                "title": form["title"], "content": form["content"],
                "employer_nos": [] if form["target"] == "all" else _numbers(form["employer_nos"])}
        try:
            result = notify.post("/pushes", body)
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            fields = exc.errors.get("json", {})
            errors = {name: "；".join(_texts(messages)) for name, messages in fields.items()}
            flash("；".join(f"{FIELD_NAMES.get(n, n)}：{m}" for n, m in errors.items()) or exc.message, "error")
        else:
            flash(result["message"], "success")
            return redirect(url_for("push.push"))
    page = _page_arg()
    pushes = notify.get("/pushes", page=page, per_page=PER_PAGE)
    pager = {"page": page, "total": pushes["total"], "pages": max(1, -(-pushes["total"] // PER_PAGE))}
    return render_template("admin/push.html", form=form, errors=errors, pushes=pushes["items"], pager=pager,
                           targets=TARGETS, channels=CHANNELS, status_names=STATUS_NAMES)


def _texts(messages: Any) -> list[str]:
    """A field's messages: a list, or per list item ({"0": [...]}) for the employer numbers."""
    if isinstance(messages, list):
        return [str(m) for m in messages]
    if isinstance(messages, dict):
        return [f"第{int(i) + 1}个：{m}" if str(i).isdigit() else str(m)
                for i, value in messages.items() for m in _texts(value)]
    return [str(messages)]
