"""A tabbed query page over services' queries (hall_common.queries): each tab with its filters, 查询
(a server-paged table), 打印 (the PDF opened in the browser, which prints it: nothing to install) and
数据下载 (the xlsx, streamed through). 缴存人信息查询 (member_queries.py) and 单位信息查询
(employer_queries.py) are each one ``QueryPage``; the template is query_page.html."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from hall_common.client import ServiceError

from . import session as sessions
from .files import passed_on
from .rosters import NO_RIGHT, refusal
from .views import MAX_PAGE, _int_arg

ROWS_PER_PAGE = 20


@dataclass(frozen=True)
class Filter:
    key: str
    label: str
    kind: str = "date"  # date | member (the type-ahead) | choice | hidden (set by a link, e.g. 明细's entry)
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RowLink:
    """A link in each row to another tab, passing one of the row's values as its filter (明细)."""

    label: str
    tab: str
    key: str  # the row's value and the other tab's filter


@dataclass(frozen=True)
class FileLink:
    """Another query's print or download offered on a tab, with the filters of it that the tab has
    (7.3's 打印明细账: the ledger over the tab's dates)."""

    label: str
    query: str
    kind: str = "print"


@dataclass(frozen=True)
class Summary:
    """Figures of the whole filter range shown above the rows, from the same service (7.2's period)."""

    path: str  # after /employers/<employer_no>
    fields: tuple[tuple[str, str], ...]  # (key, label)


@dataclass(frozen=True)
class Query:
    name: str  # the service's URL segment
    title: str
    filters: tuple[Filter, ...]
    owner: str = "member"  # the service that answers it
    tab: bool = True  # False: reached from another tab (明细) or a file only (明细账)
    parent: str = ""  # the tab a non-tab query returns to
    row_link: RowLink | None = None
    files: tuple[FileLink, ...] = ()
    summary: Summary | None = None


@dataclass(frozen=True)
class Tab:
    """A tab that opens another page (7.4 单位结息查询 is its own page)."""

    title: str
    href: str


@dataclass(frozen=True)
class QueryPage:
    title: str
    permission: str
    endpoint: str  # the page's; print and export are endpoint + "_print" / "_export"
    queries: tuple[Query, ...]
    links: tuple[Tab, ...] = field(default=())

    def query(self, name: str) -> Query:
        for query in self.queries:
            if query.name == name:
                return query
        raise NotFound()

    def tabs(self) -> Sequence[Query]:
        return [q for q in self.queries if q.tab]

    def page(self) -> Any:
        if not self._allowed():
            return redirect(url_for("hall.home"))
        names = {q.name: q for q in self.queries}
        query = names.get(request.args.get("tab", ""), self.tabs()[0])
        filters = _filters(query)
        run = request.args.get("run") == "1"
        page = _int_arg("page", 1, MAX_PAGE)
        result: dict[str, Any] | None = None
        summary: dict[str, Any] | None = None
        if run:
            client = sessions.client(query.owner)
            base = f"/employers/{sessions.principal()['emp']}"
            try:
                result = client.get(f"{base}/queries/{query.name}", **_sent(filters), page=page,
                                    per_page=ROWS_PER_PAGE)
                if query.summary is not None:
                    summary = client.get(base + query.summary.path, **_sent(filters))
            except ServiceError as exc:
                if exc.status >= 500 or exc.status == 401:
                    raise
                flash(_refusal(query, exc), "error")
                result = summary = None
        pager = None
        if result is not None:
            pager = {"page": page, "total": result["total"],
                     "pages": max(1, -(-result["total"] // ROWS_PER_PAGE))}
        echo = {key: request.args.get(f"echo_{key}", "").strip()[:60] for key in ("name", "id_number")}
        files = [(link, {f.key: filters[f.key] for f in self.query(link.query).filters if filters.get(f.key)})
                 for link in query.files]
        return render_template("query_page.html", view=self, query=query, filters=filters, echo=echo,
                               result=result, summary=summary, files=files, pager=pager, per_page=ROWS_PER_PAGE,
                               parent=names.get(query.parent), args={"tab": query.name, "run": "1", **_sent(filters)})

    def file(self, name: str, kind: str) -> Any:
        if not self._allowed():
            return redirect(url_for("hall.home"))
        query = self.query(name)
        filters: dict[str, Any] = _sent(_filters(query))
        try:
            return passed_on(sessions.client(query.owner),
                             f"/employers/{sessions.principal()['emp']}/queries/{name}/{kind}",
                             filters or None, inline=kind == "print")
        except ServiceError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            flash(_refusal(query, exc), "error")
            back = query if query.tab or not query.parent else self.query(query.parent)
            again: dict[str, Any] = {"tab": back.name, "run": "1", **_sent(_filters(back))}
            return redirect(url_for(self.endpoint, **again))

    def _allowed(self) -> bool:
        if sessions.permitted(self.permission):
            return True
        flash(NO_RIGHT, "error")
        return False


def _filters(query: Query) -> dict[str, str]:
    """The tab's filters as given (bounded; the service validates them)."""
    return {f.key: request.args.get(f.key, "").strip()[:40] for f in query.filters}


def _sent(filters: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in filters.items() if value}


def _refusal(query: Query, exc: ServiceError) -> str:
    """The service's refusal with the filters it names, by their labels on the page."""
    labels = {f.key: f.label for f in query.filters}
    fields = exc.errors.get("query") or {}
    named = [labels.get(key, key) + "：" + "；".join(map(str, reasons))
             for key, reasons in fields.items() if isinstance(reasons, list)]
    return "；".join(named) or refusal(exc)
