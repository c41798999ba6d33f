"""7.4 单位结息查询 (manual ch. 7.4), the page behind 单位信息查询's fourth tab: choose a year (the
settled ones), 查询 (the employer's 年终结息 bookings, server-paged), 打印 and 数据下载 (the payment
service's query), and for each settled year 单位利息单 and 单位对账单 (PDFs opened in the browser)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .files import passed_on
from .rosters import NO_RIGHT, refusal
from .views import MAX_PAGE, _int_arg, bp, login_required

PERMISSION = "employer_query"
OWNER = "payment"
ROWS_PER_PAGE = 20
FILES = {"print": "queries/interest/print", "export": "queries/interest/export"}
PRINTS = {"slip": "单位利息单", "statement": "单位对账单"}


def _year() -> str:
    value = request.args.get("year", "").strip()
    return value if value.isdigit() and len(value) == 4 else ""


def _allowed() -> bool:
    if sessions.permitted(PERMISSION):
        return True
    flash(NO_RIGHT, "error")
    return False


def _base() -> str:
    return f"/employers/{sessions.principal()['emp']}"


@bp.route("/employer/queries/interest")
@login_required
def employer_interest() -> Any:
    if not _allowed():
        return redirect(url_for("hall.home"))
    year, page = _year(), _int_arg("page", 1, MAX_PAGE)
    client = sessions.client(OWNER)
    years = client.get(f"{_base()}/interest/years")["years"]
    result: dict[str, Any] | None = None
    if request.args.get("run") == "1":
        try:
            result = client.get(f"{_base()}/queries/interest", **({"year": year} if year else {}), page=page,
                                per_page=ROWS_PER_PAGE)
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(refusal(exc), "error")
    pager = None
    if result is not None:
        pager = {"page": page, "total": result["total"], "pages": max(1, -(-result["total"] // ROWS_PER_PAGE))}
    return render_template("employer_interest.html", years=years, year=year, result=result, pager=pager,
                           per_page=ROWS_PER_PAGE, args={"run": "1", **({"year": year} if year else {})})


def _passed(path: str, params: dict[str, Any] | None) -> Any:
    try:
        return passed_on(sessions.client(OWNER), path, params, inline=not path.endswith("export"))
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(refusal(exc), "error")
        return redirect(url_for("hall.employer_interest", run="1", **(params or {})))


@bp.route("/employer/queries/interest/<any(print, export):kind>")
@login_required
def employer_interest_file(kind: str) -> Any:
    """打印 (the PDF in the browser's viewer) and 数据下载 (the xlsx, streamed through)."""
    if not _allowed():
        return redirect(url_for("hall.home"))
    year = _year()
    return _passed(f"{_base()}/{FILES[kind]}", {"year": year} if year else None)


@bp.route("/employer/queries/interest/<int:year>/<any(slip, statement):kind>")
@login_required
def employer_interest_print(year: int, kind: str) -> Any:
    """单位利息单 / 单位对账单 of one settled year."""
    if not _allowed():
        return redirect(url_for("hall.home"))
    return _passed(f"{_base()}/interest/{year}/{kind}", None)
