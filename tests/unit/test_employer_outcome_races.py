"""The owner's side of the approval engine's once-only paths, on SQLite and PostgreSQL: the same
outcome delivered ten times at once (distinct deliveries, one event id) and contradicting outcomes
racing each other move an employer change exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common.consumer import consume
from hall_common.events import make_event

from ..threads import at_once
from .conftest import EMPLOYER_NO, AnyDb, make_app, outbox_events
from .employer_support import BASE, current, resubmit, submit


@pytest.fixture
def any_db_app(any_db: AnyDb) -> Flask:
    return any_db.app("employer")


def outcome(event_type: str, request_id: int, **data: Any) -> dict[str, Any]:
    return make_event("workflow", event_type, {
        "business_type": "employer_change", "business_id": str(request_id), "owner": "employer",
        "employer_no": EMPLOYER_NO, "instance_id": 31, "seq": 3, **data})


def test_a_return_delivered_ten_times_at_once_returns_once(any_db_app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(any_db_app, employer_headers, {"address": "并发退回路1号"})
    returned = outcome("business.returned", request_id, approver="复核员张敏", opinion="请更正")
    results = at_once([lambda: consume(dict(returned))] * 10, any_db_app)
    assert sorted(results) == ["duplicate"] * 9 + ["processed"], results
    request = current(any_db_app, employer_headers)
    assert (request["status"], request["opinion"]) == ("returned", "请更正")


def test_an_end_delivered_ten_times_at_once_ends_once(any_db_app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(any_db_app, employer_headers, {"address": "并发结束路2号"})
    ended = outcome("business.ended", request_id, by="employer", reason="不办了")
    results = at_once([lambda: consume(dict(ended))] * 10, any_db_app)
    assert sorted(results) == ["duplicate"] * 9 + ["processed"], results
    assert current(any_db_app, employer_headers) is None
    [request] = any_db_app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert (request["status"], request["end_reason"]) == ("ended", "不办了")


def test_contradicting_outcomes_at_once_move_the_request_once(any_db_app: Flask,
                                                              employer_headers: dict[str, str]) -> None:
    """Never sent together by one process, but a redelivery after a repair could: whichever commits
    first decides, and an approval is applied (history, domain event) at most once."""
    request_id = submit(any_db_app, employer_headers, {"address": "并发路3号"})
    events = [outcome("business.approved", request_id, approver="甲", opinion="")] * 4
    events += [outcome("business.rejected", request_id, approver="乙", opinion="否")] * 3
    events += [outcome("business.ended", request_id, by="center", reason="终止")] * 3
    results = at_once([lambda e=e: consume(dict(e)) for e in events], any_db_app)
    assert all(r in ("processed", "duplicate") for r in results), results
    [request] = any_db_app.test_client().get(f"{BASE}/change-requests", headers=employer_headers).get_json()
    assert request["status"] in ("approved", "rejected", "ended")
    history = any_db_app.test_client().get(f"{BASE}/change-history", headers=employer_headers).get_json()
    domain = [e["type"] for e in outbox_events(any_db_app) if e["type"].startswith("employer.")]
    assert len(history) == (1 if request["status"] == "approved" else 0)
    assert domain == {"approved": ["employer.info_changed"], "rejected": ["employer.info_change_rejected"],
                      "ended": []}[request["status"]]


def test_the_owners_events_carry_exactly_their_documented_fields(employer_headers: dict[str, str]) -> None:
    from .workflow.test_event_fields import assert_as_catalogued

    app = make_app("employer")
    request_id = submit(app, employer_headers, {"address": "文档路1号"})
    with app.app_context():
        consume(outcome("business.returned", request_id, approver="甲", opinion="请更正"))
    assert resubmit(app, employer_headers, request_id, {"address": "文档路2号"}).status_code == 200
    with app.app_context():
        consume(outcome("business.approved", request_id, approver="甲", opinion="同意"))
    emitted = outbox_events(app)
    assert [e["type"] for e in emitted] == ["business.submitted", "business.resubmitted", "employer.info_changed"]
    for event in emitted:
        assert_as_catalogued(event)
