"""The push tests' employer directory, request and inbox reader (notify's push unit tests)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .conftest import auth, token_for

A, B = "100100001", "200200002"
# A directory of 2,500 employers (three batches), A and B among them.
DIRECTORY = sorted([A, B, *(f"3{n:08d}" for n in range(2498))])


def fake_directory(after: str = "", limit: int = 1000, employer_no: list[str] | None = None) -> dict[str, Any]:
    found = [no for no in DIRECTORY if no > after and (not employer_no or no in employer_no)]
    page = found[:limit]
    return {"items": [{"employer_no": no, "name": f"单位{no}"} for no in page],
            "next_after": page[-1] if len(found) > limit else None}


def body(**changes: Any) -> dict[str, Any]:
    return {"client_key": "req-0001", "target": "one", "employer_nos": [A], "channel": "短信",
            "title": "缴存提醒", "content": "请于本月25日前完成汇缴。", **changes}


def inbox(app: Flask, employer_no: str, box: str = "message") -> dict[str, Any]:
    headers = auth(token_for(employer_no=employer_no))
    page: dict[str, Any] = app.test_client().get(f"/employers/{employer_no}/inbox/{box}", headers=headers).get_json()
    return page
