"""Baseline: a one-query Flask app (one SQLite read, one small template) served exactly as the gateway
serves its pages: ``gunicorn -k gateway.asgi.Worker -w 1 bench.one_query:asgi_app`` (uvicorn, the
Flask app in the gateway's page bridge, gateway/pages.py, with its four threads), with BENCH_ONE_QUERY_DB."""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, render_template_string

from gateway.pages import PageServer

DB = os.environ.get("BENCH_ONE_QUERY_DB", "/tmp/bench_one_query.db")
PAGE = "<html><body><h1>{{ name }}</h1><p>{{ employer_no }}</p></body></html>"
_local = threading.local()


def _connection() -> sqlite3.Connection:
    if getattr(_local, "connection", None) is None:
        _local.connection = sqlite3.connect(DB)
    connection: sqlite3.Connection = _local.connection
    return connection


def create_db() -> None:
    with sqlite3.connect(DB) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS employers (employer_no TEXT PRIMARY KEY, name TEXT)")
        connection.execute("INSERT OR REPLACE INTO employers VALUES ('100100001', '太原市示例科技有限公司')")


app = Flask(__name__)


@app.route("/")
def home() -> str:
    row = _connection().execute("SELECT employer_no, name FROM employers WHERE employer_no = ?",
                                ("100100001",)).fetchone()
    return render_template_string(PAGE, employer_no=row[0], name=row[1])


# The gateway's own bridge and thread count (gateway/asgi.py), so the two differ only in what a page does.
asgi_app = PageServer(app, workers=4)  # type: ignore[arg-type]


if __name__ == "__main__":
    create_db()
