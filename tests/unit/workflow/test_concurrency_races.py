"""More once-only paths under ten threads, on SQLite and PostgreSQL: terminate against completion,
结束流程 against completion, claim/release/complete mixed, two admins deploying at once, and a
resubmission delivered ten times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from hall_common.consumer import consume

from ...threads import at_once
from .conftest import (
    MAY_END,
    TASK_TAKEN,
    THREADS,
    answer,
    bpmn,
    center,
    complete,
    employer,
    event,
    events_of,
    on_each_db,
    post,
    submit,
    tasks,
    the_task,
)

GOOD = bpmn("employer_change.bpmn")

app = on_each_db  # every test here runs on SQLite, then on a throwaway PostgreSQL database


def status_of(app: Flask, instance_id: int) -> str:
    body = app.test_client().get(f"/instances/{instance_id}/path", headers=center()).get_json()
    return str(body["instance"]["status"])


def test_terminate_against_completions_one_of_them_decides(app: Flask) -> None:
    submit(app)
    row = the_task(app)
    task, instance = row["task"]["id"], row["instance"]["id"]
    work: list[Callable[[], Any]] = [lambda d=d: answer(complete(app, task, d, "并发")) for d in ["approve", "reject",
                                                                                             "return"] * 2]
    work += [lambda: answer(post(app, f"/instances/{instance}/terminate", center(), {"reason": "停办"}))] * 4
    results = at_once(work, app)
    assert all(status in (200, 409) for status, _ in results), results
    winners = [i for i, (status, _) in enumerate(results) if status == 200]
    terminated = [i for i in winners if i >= 6]
    completed = [i for i in winners if i < 6]
    assert len(terminated) <= 1 and len(completed) <= 1, results
    final = status_of(app, instance)
    owner_events = [e["type"] for e in events_of(app, "business.approved", "business.rejected", "business.returned",
                                                 "business.ended")]
    if terminated and not completed:
        assert final == "terminated" and owner_events == ["business.ended"]
        assert {m for s, m in results[:6]} == {TASK_TAKEN}
        assert {m for s, m in results[6:] if s == 409} == {"该流程已办结或已结束，不能终止"}
    elif completed and not terminated:
        assert final in ("completed", "returned") and len(owner_events) == 1
    else:  # a return first, then the returned process terminated: both are legitimate, in that order
        assert (final, owner_events) == ("terminated", ["business.returned", "business.ended"]), results
    assert tasks(app, center()) == []


def test_end_by_the_employer_against_completions_one_of_them_decides(app: Flask) -> None:
    assert post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": MAY_END}).status_code == 201
    submit(app)
    row = the_task(app)
    task, instance = row["task"]["id"], row["instance"]["id"]
    work: list[Callable[[], Any]] = [lambda: answer(complete(app, task, "approve"))] * 5
    work += [lambda: answer(post(app, f"/instances/{instance}/end", employer(), {"reason": "不办了"}))] * 5
    results = at_once(work, app)
    assert sorted(s for s, _ in results) == [200] + [409] * (THREADS - 1), results
    final = status_of(app, instance)
    assert final == ("completed" if results.index(next(r for r in results if r[0] == 200)) < 5 else "ended")
    assert len(events_of(app, "business.approved", "business.ended")) == 1
    assert len(events_of(app, "process.completed", "process.ended")) == 1


def test_claims_releases_and_completions_mixed_leave_one_consistent_task(app: Flask) -> None:
    submit(app)
    task = the_task(app)["task"]["id"]
    users = [center(f"user{i}", f"经办{i}", groups=("handler",), admin=False) for i in range(THREADS)]
    work: list[Callable[[], Any]] = []
    for i, headers in enumerate(users):
        if i % 3 == 0:
            work.append(lambda h=headers: answer(post(app, f"/tasks/{task}/claim", h)))
        elif i % 3 == 1:
            work.append(lambda h=headers: answer(post(app, f"/tasks/{task}/release", h)))
        else:
            work.append(lambda h=headers: answer(complete(app, task, "approve", headers=h)))
    results = at_once(work, app)
    assert all(status in (200, 403, 409) for status, _ in results), results
    completions = [r for i, r in enumerate(results) if i % 3 == 2 and r[0] == 200]
    assert len(completions) <= 1
    finals = events_of(app, "business.approved")
    assert len(finals) == len(completions) and len(events_of(app, "task.completed")) == len(completions)


def test_two_admins_deploying_at_once_get_unique_versions_and_no_500(app: Flask) -> None:
    work = [lambda i=i: answer(post(app, "/definitions/employer_change/deploy", center(),
                                    {"bpmn_xml": GOOD.replace("中心审核岗", f"审核岗{i}"), "note": f"第{i}次"}))
            for i in range(THREADS)]
    results = at_once(work, app)
    assert {s for s, _ in results} <= {201, 409}, results
    assert all(m.startswith("该流程已有新版本（版本") and m.endswith("请重新打开后再部署")
               for s, m in results if s == 409), results
    created = sum(1 for s, _ in results if s == 201)
    items = app.test_client().get("/definitions/employer_change/versions", headers=center()).get_json()["items"]
    assert [i["version"] for i in items] == list(range(created + 1, 0, -1))
    records = app.test_client().get("/audit-records", headers=center()).get_json()["items"]
    assert len(records) == created


def test_of_admins_deploying_edits_of_the_same_version_at_once_one_wins_the_others_are_told(app: Flask) -> None:
    # Each admin is a different login: none of them is told about a deploy of its own.
    work = [lambda i=i: answer(post(app, "/definitions/employer_change/deploy", center(f"admin{i}", f"管理员{i}"),
                                    {"bpmn_xml": GOOD.replace("中心审核岗", f"审核岗{i}"), "note": f"第{i}次",
                                     "base_version": 1}))
            for i in range(THREADS)]
    results = at_once(work, app)
    assert sorted(s for s, _ in results) == [201] + [409] * (THREADS - 1), results
    assert {m for s, m in results if s == 409} == {"该流程已有新版本（版本2），请重新打开后再部署"}
    items = app.test_client().get("/definitions/employer_change/versions", headers=center()).get_json()["items"]
    assert [i["version"] for i in items] == [2, 1]
    [winner] = [i for i, (s, _) in enumerate(results) if s == 201]
    assert (items[0]["deployed_by"], items[0]["note"]) == (f"admin{winner}", f"第{winner}次")  # its login


def test_a_resubmission_redelivered_ten_times_resumes_once(app: Flask) -> None:
    submit(app)
    assert complete(app, the_task(app)["task"]["id"], "return", "请更正").status_code == 200
    once = event("business.resubmitted")
    results = at_once([lambda: consume(dict(once))] * THREADS, app)  # one event id, ten deliveries
    assert sorted(results) == ["duplicate"] * (THREADS - 1) + ["processed"], results
    assert len(tasks(app, center())) == 1 and len(events_of(app, "process.resubmitted")) == 1
