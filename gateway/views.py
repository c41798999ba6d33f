"""The employer's pages: login, home with the inboxes, employer info change."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import NotFound

from hall_common.client import ServiceClient, ServiceError

from . import session as sessions
from .session import EMPLOYER_KEY

bp = Blueprint("hall", __name__)
login_required = sessions.login_required(EMPLOYER_KEY, "hall.login")
BOXES = [("message", "消息"), ("todo", "待办"), ("done", "已办"), ("initiated", "我发起的"), ("read", "已阅")]
MODULES = [
    ("单位基本信息", None), ("单位信息变更", "hall.employer_change"), ("基数调整", None), ("补缴", None),
    ("单位信息查询", None), ("缴存人登记", None), ("缴存人信息变更", None), ("缴存人信息查询", None),
    ("启封", None), ("封存", None), ("零余额销户", None),
]


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Any:
    directory = current_app.config["VENDOR_DIRS"].get(package)
    if directory is None:
        raise NotFound()
    return send_from_directory(directory, filename)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = {"employer_no": "", "login_name": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in ("employer_no", "login_name")}
        try:
            result = ServiceClient("auth").post("/auth/login", {**form, "password": request.form.get("password", "")})
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            sessions.start(EMPLOYER_KEY, result)
            return redirect(_safe_next(request.args.get("next")) or url_for("hall.home"))
    return render_template("login.html", form=form)


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/") and not target.startswith("//") else None


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sessions.end(EMPLOYER_KEY)
    return redirect(url_for("hall.login"))


def _employer_no() -> str:
    return str(sessions.principal()["emp"])


@bp.route("/")
@login_required
def home() -> Any:
    employer_no = _employer_no()
    box = request.args.get("box", "message")
    if box not in dict(BOXES):
        box = "message"
    profile = sessions.client("employer").get(f"/employers/{employer_no}")
    account = sessions.client("payment").get(f"/employers/{employer_no}/account")
    notify = sessions.client("notify")
    counts = notify.get(f"/employers/{employer_no}/inbox-counts")
    inbox = notify.get(f"/employers/{employer_no}/inbox/{box}", page=1, per_page=10)
    return render_template(
        "home.html", profile=profile, account=account, counts=counts, inbox=inbox, box=box, boxes=BOXES,
        modules=MODULES,
    )


@bp.route("/employer/change", methods=["GET", "POST"])
@login_required
def employer_change() -> Any:
    employer_no = _employer_no()
    client = sessions.client("employer")
    profile = client.get(f"/employers/{employer_no}")
    posted: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        # The roster is what differs from the registered values; the page shows the same rows live.
        posted = {f["name"]: request.form.get(f["name"], f["value"]) for f in profile["fields"] if f["editable"]}
        changes = [
            {"field": f["name"], "value": posted[f["name"]]}
            for f in profile["fields"]
            if f["editable"] and posted[f["name"]].strip() != f["value"]
        ]
        try:
            result = client.post(f"/employers/{employer_no}/change-requests", {"changes": changes})
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            flash(exc.message, "error")
            rows = exc.errors.get("json", {}).get("changes", {})
            errors = {changes[int(i)]["field"]: "；".join(v["value"]) for i, v in rows.items() if int(i) < len(changes)}
        else:
            flash(result["message"], "success")
            return redirect(url_for("hall.employer_change"))
    return render_template("employer_change.html", profile=profile, posted=posted, errors=errors)


@bp.route("/inbox/<int:item_id>")
@login_required
def inbox_item(item_id: int) -> Any:
    item = sessions.client("notify").get(f"/employers/{_employer_no()}/inbox-items/{item_id}")
    return render_template("inbox_item.html", item=item)


@bp.route("/inbox/<int:item_id>/read", methods=["POST"])
@login_required
def mark_read(item_id: int) -> Any:
    result = sessions.client("notify").post(f"/employers/{_employer_no()}/inbox-items/{item_id}/read")
    flash(result["message"], "success")
    return redirect(url_for("hall.home"))


@bp.route("/inbox/<int:item_id>/delete", methods=["POST"])
@login_required
def delete_item(item_id: int) -> Any:
    result = sessions.client("notify").delete(f"/employers/{_employer_no()}/inbox-items/{item_id}")
    flash(result["message"], "success")
    return redirect(url_for("hall.home", box=request.form.get("box", "message")))
