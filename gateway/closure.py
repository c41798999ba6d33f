"""零余额销户: the page says whether the employer may close its account now and, if not, exactly what
blocks it (the balance, the unallocated amount, the members still holding money, the businesses in
approval, each named by the employer service's check); when allowed, 提交销户 (确定 / 取消) sends the
closure for the center's approval. A closure in approval or returned shows its state and path."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .views import bp, login_required

PERMISSION = "closure"


def _path() -> str:
    return f"/employers/{sessions.principal()['emp']}/closure"


@bp.route("/employer/closure")
@login_required
def closure() -> Any:
    if not sessions.permitted(PERMISSION):
        flash("当前账号无权办理该业务", "error")
        return redirect(url_for("hall.home"))
    check = sessions.client("employer").get(_path())
    return render_template("closure.html", check=check)


@bp.route("/employer/closure", methods=["POST"])
@login_required
def submit_closure() -> Any:
    if not sessions.permitted(PERMISSION):
        flash("当前账号无权办理该业务", "error")
        return redirect(url_for("hall.home"))
    try:
        answer = sessions.client("employer").post(_path())
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(f"{answer['message']}（业务编号{answer['request']['id']}）", "success")
    return redirect(url_for("hall.closure"))
