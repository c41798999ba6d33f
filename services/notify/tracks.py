"""The employer's 待办, 已办 and 我发起的, from the workflow service's process events.

Events of one instance may arrive in any order (retries, two workers, a parked event retried late).
Each carries the instance's ``seq``; every event is kept once by (instance_id, seq) and the instance's
track is the fold of all its events in seq order: an event newer than all before it is folded onto the
stored track, an older one makes the track be folded again from all of them. So an older event never
overwrites a newer state, a duplicate changes nothing, and every arrival order of the same events ends
in the same track. The track row is locked (by the upsert that creates it) before anything is read, so
two events of one instance handled at once are folded one after the other (PostgreSQL; SQLite
serialises writers).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hall_common import db
from hall_common.consumer import InvalidEvent
from hall_common.schemas import INT32_MAX

from . import boxcounts, live, messages
from .filters import Filters
from .models import (
    COMPLETED,
    DONE,
    ENDED,
    INITIATED,
    RETURNED,
    RUNNING,
    TERMINATED,
    TODO,
    ProcessTrack,
    ProcessTrackEvent,
)

PROCESS_EVENTS = (
    "process.started", "task.created", "task.claimed", "task.completed",
    "process.returned", "process.resubmitted", "process.ended", "process.completed",
)
# Copied from every event: each one names its instance fully, whichever arrives first.
COMMON_FIELDS = ("employer_no", "employer_name", "initiator", "initiator_login", "business_type", "business_id",
                 "title", "permission")
# Column sizes, so a long value from an event cannot fail the insert on PostgreSQL.
LIMITS = {"employer_name": 100, "initiator": 50, "initiator_login": 50, "business_type": 50, "business_id": 50,
          "title": 100, "summary": 200, "task_name": 100, "candidate_group": 50, "handler": 50, "decision": 20,
          "opinion": 500, "end_reason": 500, "ended_by": 20, "outcome": 20, "employer_no": 20, "permission": 50}
_TRACKS, _EVENTS = cast(Table, ProcessTrack.__table__), cast(Table, ProcessTrackEvent.__table__)
_COLUMNS = frozenset(_TRACKS.columns.keys()) - {"instance_id"}
STATUS_NAMES = {RUNNING: "审批中", RETURNED: "已退回", COMPLETED: "已办结", ENDED: "已结束", TERMINATED: "已终止"}
OUTCOME_NAMES = {"approved": "审批通过", "rejected": "审批不通过"}


# -- the fold -------------------------------------------------------------------------------------

def fold(events: Iterable[tuple[int, str, dict[str, Any]]], start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The track of an instance from its events (seq, type, data), whatever order they are given in;
    ``start``: the track already folded from every event before these (all of lower seq)."""
    state: dict[str, Any] = dict(start) if start is not None else {"status": RUNNING, "last_seq": 0}
    for seq, event_type, data in sorted(events, key=lambda e: e[0]):
        for name in COMMON_FIELDS:
            if data.get(name) is not None:
                state[name] = str(data[name])
        at = _time(data.get("at"))
        state["last_seq"], state["updated_at"] = seq, at
        _apply(state, event_type, data, at)
    return {k: (v[: LIMITS[k]] if isinstance(v, str) and k in LIMITS else v) for k, v in state.items()}


def _apply(state: dict[str, Any], event_type: str, data: dict[str, Any], at: datetime | None) -> None:
    task = {"task_id": data.get("task_id"), "task_name": _text(data.get("task_name"))}
    if event_type == "process.started":
        state.update(started_at=at, summary=_text(data.get("summary")) or state.get("summary", ""))
    elif event_type == "task.created":
        state.update(task, candidate_group=_text(data.get("candidate_group")), handler=None, decision=None)
    elif event_type == "task.claimed":
        state.update(task, handler=_text(data.get("handler")))
    elif event_type == "task.completed":
        state.update(task, handler=_text(data.get("handler")), decision=_text(data.get("decision")),
                     opinion=_text(data.get("opinion")))
    elif event_type == "process.returned":
        state.update(status=RETURNED, returned_at=at, task_name=_text(data.get("task_name")),
                     handler=_text(data.get("handler")), decision="return", opinion=_text(data.get("opinion")))
    elif event_type == "process.resubmitted":
        state.update(status=RUNNING, acted_at=at, task_id=None, task_name=None, handler=None, decision=None)
    elif event_type == "process.ended":
        by = _text(data.get("by"))
        state.update(status=ENDED if by == "employer" else TERMINATED, outcome=ENDED if by == "employer"
                     else TERMINATED, ended_by=by, end_reason=_text(data.get("reason")), ended_at=at)
        if by == "employer":
            state["acted_at"] = at
    elif event_type == "process.completed":
        state.update(status=COMPLETED, outcome=_text(data.get("outcome")), handler=_text(data.get("approver")),
                     opinion=_text(data.get("opinion")), ended_at=at, task_id=None, task_name=None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


# -- the handler ----------------------------------------------------------------------------------

def track(event: dict[str, Any]) -> None:
    """Keep the event once by (instance, seq) and refold the instance's track.

    Three statements for a new event in seq order (the worker's hottest handler, make bench), built
    once, on the tables, not through the ORM's bulk machinery."""
    data = event["data"]
    instance_id, seq = data.get("instance_id"), data.get("seq")
    if not (_key(instance_id) and _key(seq) and data.get("employer_no")):
        raise InvalidEvent(f"{event['type']} without a valid instance_id, seq or employer_no")
    session = db.session()
    upsert, keep, write = _statements(session.get_bind().dialect.name)
    employer_no = str(data["employer_no"])[:20]
    # Create the track if it is new and lock it, in one upsert: concurrent events of this instance fold
    # one after the other (the conflict's update takes the row lock on PostgreSQL; SQLite serialises
    # writers). It returns the state before this event; last_seq 0 is a row created just now, since
    # every kept event leaves last_seq >= 1 in its transaction.
    before = session.execute(upsert, {"p_instance_id": instance_id, "p_employer_no": employer_no}).one()
    if before.last_seq == 0:  # every track is in 我发起的
        boxcounts.bump(session, employer_no, INITIATED, 1)
    kept = session.execute(keep, {"p_instance_id": instance_id, "p_seq": seq, "p_type": event["type"],
                                  "p_data": data, "p_event_id": event["id"]}).scalar_one_or_none()
    if kept is None:  # this seq is known already: nothing changes
        return
    live.mark(session, employer_no)
    stored = dict(before._mapping)
    if seq > before.last_seq:  # in order, as almost always: this event on top of the folded track
        state = fold([(seq, event["type"], data)], start=stored)
    else:  # an older event arrived late: fold them all again in seq order (what no event sets stays)
        events = session.execute(select(_EVENTS.c.seq, _EVENTS.c.type, _EVENTS.c.data)
                                 .where(_EVENTS.c.instance_id == instance_id))
        state = {**stored, **fold((row.seq, row.type, row.data) for row in events)}
    session.execute(write, {"w_instance_id": instance_id, **{f"v_{k}": state[k] for k in _COLUMNS}})
    messages.for_process_event(session, event, state)
    # The boxes' maintained counts follow the track's moves (the tabs and totals never COUNT(*) the tracks).
    was = _boxes(before.status, before.acted_at)
    now = _boxes(state["status"], state.get("acted_at", before.acted_at))
    for box in was ^ now:
        boxcounts.bump(session, employer_no, box, 1 if box in now else -1)


@lru_cache(maxsize=4)
def _statements(dialect: str) -> tuple[Any, Any, Any]:
    """The handler's three statements, built once per dialect with bound parameters: building them per
    event (a value per column, coerced, then a cache key) was half the handler's time (make bench)."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert

    def param(prefix: str, table: Table, name: str) -> Any:
        return bindparam(f"{prefix}_{name}", type_=table.c[name].type)

    upsert = (
        insert(_TRACKS)
        .values(instance_id=param("p", _TRACKS, "instance_id"), employer_no=param("p", _TRACKS, "employer_no"),
                last_seq=0, status=RUNNING)
        .on_conflict_do_update(index_elements=[_TRACKS.c.instance_id], set_={"last_seq": _TRACKS.c.last_seq})
        .returning(*_TRACKS.c)
    )
    keep = (
        insert(_EVENTS)
        .values({name: param("p", _EVENTS, name) for name in ("instance_id", "seq", "type", "data", "event_id")})
        .on_conflict_do_nothing(index_elements=["instance_id", "seq"])
        .returning(_EVENTS.c.seq)
    )
    write = (
        update(_TRACKS)
        .where(_TRACKS.c.instance_id == param("w", _TRACKS, "instance_id"))
        .values({name: param("v", _TRACKS, name) for name in sorted(_COLUMNS)})
    )
    return upsert, keep, write


def _boxes(status: str, acted_at: datetime | None) -> set[str]:
    """Which of 待办 and 已办 a track with this state is in (the rule of ``_in_box``, in Python)."""
    if status == RETURNED:
        return {TODO}
    return {DONE} if acted_at is not None else set()


def _key(value: Any) -> bool:
    """An id the INTEGER columns hold (bool is an int in Python, but no id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT32_MAX


HANDLERS = {event_type: track for event_type in PROCESS_EVENTS}


# -- the boxes ------------------------------------------------------------------------------------

def _box_filter(employer_no: str, box: str, initiator: str | None) -> list[ColumnElement[bool]]:
    """``initiator`` (a login name) narrows 我发起的 to the business that operator started (manual ch. 2);
    待办 and 已办 stay the employer's: any operator may handle a return."""
    where = [ProcessTrack.employer_no == employer_no, *_in_box(box)]
    if initiator and box == INITIATED:
        where.append(ProcessTrack.initiator_login == initiator)
    return where


def _in_box(box: str) -> list[ColumnElement[bool]]:
    if box == TODO:  # returned: the employer corrects and resubmits, or ends the process
        return [ProcessTrack.status == RETURNED]
    if box == DONE:  # left 待办 by the employer's own action (resubmitted or ended)
        return [ProcessTrack.acted_at.is_not(None), ProcessTrack.status != RETURNED]
    return []


DATED = {TODO: ProcessTrack.returned_at, DONE: ProcessTrack.acted_at}
ORDER = {TODO: ProcessTrack.returned_at, DONE: ProcessTrack.acted_at, INITIATED: ProcessTrack.instance_id}


def list_box(employer_no: str, box: str, page: int, per_page: int,
             initiator: str | None = None, filters: Filters | None = None) -> tuple[list[dict[str, Any]], int]:
    session = db.session()
    where = _box_filter(employer_no, box, initiator)
    if filters:  # the date of the box's own moment: returned (待办), handled (已办), started (我发起的)
        where += filters.on(DATED.get(box, ProcessTrack.started_at), ProcessTrack.business_type)
    if filters or (initiator and box == INITIATED):
        total = session.scalar(select(func.count()).select_from(ProcessTrack).where(*where)) or 0
    else:
        total = boxcounts.counts(employer_no)[box]
    query = (select(ProcessTrack).where(*where).order_by(ORDER[box].desc(), ProcessTrack.instance_id.desc())
             .offset((page - 1) * per_page).limit(per_page))
    return [item(t, box) for t in session.scalars(query)], total


def counts(employer_no: str, initiator: str | None = None) -> dict[str, int]:
    """The boxes' sizes: the maintained counts; for one operator's view (``initiator``, a login name)
    我发起的 is counted over that operator's tracks (an index range, see the model)."""
    maintained = boxcounts.counts(employer_no)
    result = {box: maintained[box] for box in (TODO, DONE, INITIATED)}
    if initiator:
        result[INITIATED] = db.session().scalar(
            select(func.count()).select_from(ProcessTrack).where(*_box_filter(employer_no, INITIATED, initiator))
        ) or 0
    return result


def item(t: ProcessTrack, box: str) -> dict[str, Any]:
    """An inbox-shaped row (id = the instance id) with the process's state beside it."""
    created = {TODO: t.returned_at, DONE: t.acted_at}.get(box) or t.started_at or t.updated_at
    return {
        "id": t.instance_id, "box": box, "business_type": t.business_type, "business_id": t.business_id,
        "title": t.title, "permission": t.permission, "content": content(t), "channel": "网上服务大厅",
        "created_at": created,
        "read_at": None, "instance_id": t.instance_id, "status": t.status,
        "status_name": STATUS_NAMES.get(t.status, t.status), "outcome": t.outcome, "task_name": t.task_name,
        "handler": t.handler, "opinion": t.opinion, "initiator": t.initiator,
        "initiator_login": t.initiator_login, "summary": t.summary,
        "started_at": t.started_at, "returned_at": t.returned_at, "acted_at": t.acted_at,
        "ended_at": t.ended_at, "updated_at": t.updated_at, "can_end": t.status == RETURNED,
    }


def content(t: ProcessTrack) -> str:
    if t.status == RETURNED:
        step = t.task_name or "审核"
        return f"您提交的{t.title}业务被退回（{step}），退回意见：{t.opinion or ''}。请修改后重新提交或结束流程"
    if t.status == RUNNING:
        return f"审批中：{t.task_name}" if t.task_name else "审批中"
    if t.status == COMPLETED:
        result = OUTCOME_NAMES.get(t.outcome or "", t.outcome or "")
        return f"{result}，审批意见：{t.opinion}" if t.opinion else result
    if t.status == ENDED:
        return f"已结束流程：{t.end_reason}" if t.end_reason else "已结束流程"
    return f"中心已终止流程：{t.end_reason}" if t.end_reason else "中心已终止流程"
