"""The admin console's 结息管理 page: each interest year's settlement (the payment service's runs) with
its progress, and 开始结息 for a finished year. The work runs on the heavy queue; this page shows the
run's row (status, employers and members done, interest booked) and refreshes itself while one runs.
Needs the center permission 结息管理; the payment service checks it again."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .console import console
from .session import CENTER_KEY

bp = Blueprint("interest", __name__, url_prefix="/admin/interest")

PER_PAGE = 20
MAX_PAGE = 1000
FIRST_YEAR = 2000


def _payment() -> Any:
    return sessions.client("payment", CENTER_KEY)


def finished_years(today: date) -> list[int]:
    """The interest years that may be settled, latest first: a year ends on 30 June."""
    last = today.year if (today.month, today.day) >= (6, 30) else today.year - 1
    return list(range(last, max(FIRST_YEAR, last - 9) - 1, -1))


@bp.route("/")
@console("interest")
def runs() -> Any:
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    listed = _payment().get("/interest/runs", page=page, per_page=PER_PAGE)
    running = any(run["status"] == "running" for run in listed["items"])
    return render_template("admin/interest.html", runs=listed["items"], total=listed["total"], page=page,
                           pages=max(1, -(-listed["total"] // PER_PAGE)), years=finished_years(date.today()),
                           running=running)


@bp.route("/", methods=["POST"])
@console("interest")
def start() -> Any:
    year = request.form.get("year", "").strip()
    try:
        run = _payment().post("/interest/runs", {"year": int(year) if year.isdigit() else year})
    except ServiceError as exc:
        if exc.status >= 500 and exc.status != 503 or exc.status == 401:
            raise
        fields = exc.errors.get("json", {}) if isinstance(exc.errors, dict) else {}
        detail = "；".join("；".join(map(str, v)) if isinstance(v, list) else str(v) for v in fields.values())
        flash(detail or exc.message, "error")
        return redirect(url_for("interest.runs"))
    if run["status"] == "done":
        flash(f"{run['label']}已结息完成，未重复记账", "success")
    else:
        flash(f"已开始{run['label']}结息，进度见下表", "success")
    return redirect(url_for("interest.runs"))
