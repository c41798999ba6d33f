"""The employer's pages: home with the inboxes, employer info change."""

from __future__ import annotations

from functools import partial
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

from hall_common.client import ServiceError, gather
from hall_common.permissions import PERMISSIONS

from . import session as sessions
from .session import EMPLOYER_KEY

bp = Blueprint("hall", __name__)
login_required = sessions.login_required(EMPLOYER_KEY, "login.login")
BOXES = [("message", "消息"), ("todo", "待办"), ("done", "已办"), ("initiated", "我发起的"), ("read", "已阅")]
# module permission -> the page that serves it (None: not built yet)
MODULE_PAGES: dict[str, str | None] = {"employer_change": "hall.employer_change"}


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Any:
    directory = current_app.config["VENDOR_DIRS"].get(package)
    if directory is None:
        raise NotFound()
    return send_from_directory(directory, filename)


def _employer_no() -> str:
    return str(sessions.principal()["emp"])


@bp.route("/")
@login_required
def home() -> Any:
    employer_no = _employer_no()
    box = request.args.get("box", "message")
    if box not in dict(BOXES):
        box = "message"
    employer, payment, notify = (sessions.client(name) for name in ("employer", "payment", "notify"))
    # The three services are asked at once; one notify call: the page of the chosen box carries every
    # box's count for the tabs.
    profile, account, inbox = gather(
        partial(employer.get, f"/employers/{employer_no}"),
        partial(payment.get, f"/employers/{employer_no}/account"),
        partial(notify.get, f"/employers/{employer_no}/inbox/{box}", page=1, per_page=10),
    )
    counts = inbox["counts"]
    # Only the modules this account may use are shown.
    modules = [(label, MODULE_PAGES.get(key)) for key, label in PERMISSIONS.items() if sessions.permitted(key)]
    return render_template(
        "home.html", profile=profile, account=account, counts=counts, inbox=inbox, box=box, boxes=BOXES,
        modules=modules,
    )


@bp.route("/employer/change", methods=["GET", "POST"])
@login_required
def employer_change() -> Any:
    if not sessions.permitted("employer_change"):
        flash("当前账号无权办理该业务", "error")
        return redirect(url_for("hall.home"))
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
