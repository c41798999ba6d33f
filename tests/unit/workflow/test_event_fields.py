"""docs/events.md names exactly the data fields the workflow service emits, type by type: a run
through every path (return, resubmit, reassign, approve, reject, end, terminate) is compared with the
catalog's rows."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from .conftest import center, complete, employer, events_of, post, resubmit, submit, the_task

CATALOG = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def documented() -> dict[str, set[str]]:
    """type -> field names of its row: the backticked names, leaving out parenthesised remarks and the
    sentences after the field list; "the common fields" and "as `x`" expand."""
    rows: dict[str, str] = {}
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`[a-z_]+\.[a-z_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[3]
    fields: dict[str, set[str]] = {}

    def names(text: str) -> set[str]:
        while re.search(r"\([^()]*\)", text):
            text = re.sub(r"\([^()]*\)", "", text)
        text = text.split(". ")[0]
        return set(re.findall(r"`([a-z_]+)`", text))

    common = names(rows["process.started"]) - {"summary"}
    for type_, text in rows.items():
        alias = re.match(r"as `([a-z_.]+)`", text)
        fields[type_] = names(rows[alias.group(1)]) if alias else names(text)
        if text.startswith("the common fields"):
            fields[type_] |= common
    return fields


def test_every_emitted_event_carries_exactly_its_documented_fields(app: Flask) -> None:
    submit(app, "1")
    task = the_task(app, "1")["task"]["id"]
    post(app, f"/tasks/{task}/claim", center())
    assert complete(app, task, "return", "请更正").status_code == 200
    resubmit(app, "1")
    task = the_task(app, "1")["task"]["id"]
    assert post(app, f"/tasks/{task}/reassign", center(), {"login_name": "center02"}).status_code == 200
    assert complete(app, task, "approve", headers=center("center02", "复核员")).status_code == 200
    submit(app, "2")
    assert complete(app, the_task(app, "2")["task"]["id"], "reject", "不符").status_code == 200
    submit(app, "3")
    returned = the_task(app, "3")
    assert complete(app, returned["task"]["id"], "return", "补材料").status_code == 200
    ended = post(app, f"/instances/{returned['instance']['id']}/end", employer(), {"reason": "不办了"})
    assert ended.status_code == 200
    submit(app, "4")
    instance = the_task(app, "4")["instance"]["id"]
    assert post(app, f"/instances/{instance}/terminate", center(), {"reason": "重复"}).status_code == 200

    catalog = documented()
    emitted = events_of(app)
    assert {e["type"] for e in emitted} >= {
        "process.started", "task.created", "task.claimed", "task.completed", "process.returned",
        "process.resubmitted", "process.ended", "process.completed", "business.approved", "business.rejected",
        "business.returned", "business.ended"}
    for event in emitted:
        assert set(event["data"]) == catalog[event["type"]], event["type"]


def test_the_submitting_operators_login_rides_on_every_process_event(app: Flask) -> None:
    """我发起的 is per operator: the login of the submission names the instance's initiator on every
    event, and a resubmission by another operator of the employer does not take the business over."""
    submit(app, "1", initiator_login="wangxy")
    task = the_task(app, "1")
    assert task["instance"]["initiator_login"] == "wangxy"
    assert complete(app, task["task"]["id"], "return", "请更正").status_code == 200
    resubmit(app, "1", initiator_login="lisi")
    assert complete(app, the_task(app, "1")["task"]["id"], "approve").status_code == 200
    process = [e for e in events_of(app) if e["type"].startswith(("process.", "task."))]
    assert {e["type"] for e in process} >= {"process.started", "process.returned", "process.resubmitted",
                                           "process.completed"}
    assert {e["data"]["initiator_login"] for e in process} == {"wangxy"}
