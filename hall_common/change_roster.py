"""The change-roster business: an operator edits some fields of one record (the employer's profile in
manual ch. 3, a member's customer information in ch. 9); each edited field is a row of the 待变更清册
(field, label, old, new); 提交 / 保存 sends the rows for approval as one business; on approval each row
is written to the record and to its change history.

The two businesses are two configurations of this one (``ChangeRoster``): which fields (greyed or
editable, with their validators and coded values), which record a request changes and what holds its
one pending slot (the employer; the member), how a value is written, what history row records it, and
the owner's domain events (emitted by the owner, so the event catalog sees their literal types).

The request's life: in_approval -> approved / rejected (the process completed), returned (a reviewer
sent it back; the employer corrects it and resubmits into the same process, or ends it) or ended.
Every move is a conditional update whose row count decides, so concurrent deliveries move it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import JSON, CursorResult, DateTime, Integer, String, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import db
from .business import ENDED as ENDED_KIND
from .business import REJECTED as REJECTED_KIND
from .business import BusinessRegistry, BusinessType, Column, Outcome, Rows, Summary, integer_id
from .errors import BusinessError
from .outbox import commit_and_relay
from .security import Principal
from .validators import Validator

IN_APPROVAL = "in_approval"
APPROVED = "approved"
REJECTED = "rejected"
# Sent back by a reviewer for correction: still pending (blocks a new submission), editable by the
# employer, who resubmits it (-> in_approval) or ends the process (-> ended).
RETURNED = "returned"
# The process was ended (结束流程 by the employer, or terminated by the center): finished without
# effect, a new request may be submitted.
ENDED = "ended"
# The states in which a request holds its record's one pending slot.
PENDING = (IN_APPROVAL, RETURNED)
REQUEST_STATUS_NAMES = {
    IN_APPROVAL: "审批中", RETURNED: "已退回", APPROVED: "审批通过", REJECTED: "审批不通过", ENDED: "已结束",
}
COLUMNS = (Column("label", "变更项目"), Column("old", "变更前"), Column("new", "变更后"))
MISSING_MESSAGE = "变更申请不存在"
NOT_RETURNED_MESSAGE = "该变更申请未被退回，不能重新提交，请刷新后查看"


@dataclass(frozen=True)
class ChangeField:
    """One item of the record as the change page shows it. A greyed (not editable) item is echoed only."""

    name: str
    label: str
    editable: bool
    validate: Validator | None = None
    # The longest value the field takes (its column's length): the page's input carries it as maxlength.
    max_length: int | None = None
    # Coded values (code -> name, e.g. GB/T 4658's education): the page offers a choice, the roster
    # and the history show "21 本科".
    choices: Mapping[str, str] | None = None
    # The checked value as stored and shown (money to its two places); None keeps it as typed.
    normalize: Callable[[str], str] | None = None

    def show(self, value: str) -> str:
        if self.choices is not None and value in self.choices:
            return f"{value} {self.choices[value]}"
        return value


class ChangeRequestColumns:
    """The columns every change request has (a declarative mixin): the owner adds its key and slot."""

    status: Mapped[str] = mapped_column(String(20), default=IN_APPROVAL)
    # [{"field", "label", "old", "new"}], as the operator saw it when submitting
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    operator: Mapped[str] = mapped_column(String(50))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=db.utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    approver: Mapped[str | None] = mapped_column(String(50), nullable=True)
    opinion: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The approval process of the request (from business.returned/ended), for its path and 结束流程.
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # When ended: "employer" (结束流程) or "center" (terminated), and why.
    ended_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


@dataclass(frozen=True)
class ChangeRoster:
    """One configuration of the change-roster business."""

    business_type: str
    registry: BusinessRegistry
    model: type[Any]  # the request model (ChangeRequestColumns, ``id``, ``employer_no`` and the slot)
    fields: tuple[ChangeField, ...]
    # The refusal of a second submission while one is pending for the same record.
    pending_message: str
    # The request's column naming the record that has one pending slot ("employer_no", "member_no").
    slot: str
    # request -> the record it changes
    target: Callable[[Any], Any]
    # (record, field name) -> the value as stored, as text ("" for none): the roster's 变更前
    current: Callable[[Any, str], str]
    # (request, record, applied rows): the owner's domain event of an approval
    on_applied: Callable[[Any, Any, list[dict[str, Any]]], None]
    # (request, record): the owner's domain event of a rejection
    on_rejected: Callable[[Any, Any], None]
    # (request, record, row, old) -> the history row recording one applied row (added to the session);
    # None: the record keeps no change history of this business (零余额销户: its request is the record)
    history: Callable[[Any, Any, dict[str, Any], str], Any] | None = None
    # (record, field, new value as text): write one row's value (default: the text itself)
    write: Callable[[Any, ChangeField, str], None] = field(
        default=lambda record, f, value: setattr(record, f.name, value))
    # request -> why an approved request can no longer be applied (the world moved while it was in
    # approval), or None; a reason rejects it with that reason as the opinion and applies nothing
    refusal: Callable[[Any], str | None] | None = None
    rows_caption: str = "变更清册"

    @cached_property
    def by_name(self) -> dict[str, ChangeField]:
        return {f.name: f for f in self.fields}

    @property
    def max_rows(self) -> int:
        return len(self.fields)

    # -- the roster ----------------------------------------------------------------------------------

    def profile_fields(self, record: Any) -> list[dict[str, Any]]:
        """The record's items as the change page shows them: greyed ones echoed, editable ones offered."""
        items = []
        for f in self.fields:
            value = self.current(record, f.name)
            items.append({"name": f.name, "label": f.label, "value": value, "shown": f.show(value),
                          "editable": f.editable, "max_length": f.max_length,
                          "choices": [{"code": c, "name": n} for c, n in f.choices.items()] if f.choices else None})
        return items

    def check(self, record: Any, changes: list[dict[str, str]]) -> list[dict[str, str]]:
        """Validate every roster row; collect all row errors so the operator fixes them in one go."""
        if not changes:
            raise BusinessError("待变更清册为空，请先修改需变更的项目", 422)
        errors: dict[str, dict[str, list[str]]] = {}
        lines: list[str] = []
        rows: list[dict[str, str]] = []
        seen: set[str] = set()
        for index, change in enumerate(changes):
            item = self.by_name.get(change["field"])
            value = change["value"].strip()
            reason = self._refusal(record, item, value, seen)
            if reason:
                errors[str(index)] = {"value": [reason]}
                lines.append(f"第{index + 1}行 {item.label if item else change['field']}：{reason}")
                continue
            assert item is not None
            seen.add(item.name)
            rows.append({"field": item.name, "label": item.label, "old": item.show(self.current(record, item.name)),
                         "new": item.normalize(value) if item.normalize else value})
        if errors:
            raise BusinessError("；".join(lines), 422, {"json": {"changes": errors}})
        return rows

    def _refusal(self, record: Any, item: ChangeField | None, value: str, seen: set[str]) -> str | None:
        if item is None:
            return "不存在该信息项"
        if not item.editable:
            return "置灰项不允许修改"
        if item.name in seen:
            return "同一项目在清册中重复"
        if value == self.current(record, item.name):
            return "变更后的内容与原内容相同"
        if item.choices is not None and value not in item.choices:
            return f"{item.label}代码不正确，应为{'、'.join(f'{c} {n}' for c, n in item.choices.items())}之一"
        if item.validate is not None:
            try:
                item.validate(value)
            except ValidationError as exc:
                return "；".join(str(m) for m in exc.messages)  # type: ignore[union-attr]
        return None

    def pending(self, slot_value: str) -> Any | None:
        """The request holding the record's one pending slot: in approval, or returned for correction."""
        column = getattr(self.model, self.slot)
        return db.session().scalar(select(self.model).where(column == slot_value, self.model.status.in_(PENDING)))

    def pending_id(self, slot_value: str) -> int | None:
        column = getattr(self.model, self.slot)
        return db.session().scalar(select(self.model.id).where(column == slot_value, self.model.status.in_(PENDING)))

    def submit(self, principal: Principal, record: Any, changes: list[dict[str, str]], *, employer_no: str,
               employer_name: str, **keys: Any) -> Any:
        """Store the checked rows as a request in approval and emit ``business.submitted``, one
        transaction. The record's one pending slot is a partial unique index: of two simultaneous
        submissions one is stored, the other answers the pending refusal and stores nothing."""
        session = db.session()
        rows = self.check(record, changes)
        if self.pending_id(keys.get(self.slot, employer_no)) is not None:
            raise BusinessError(self.pending_message, 409)
        if hasattr(self.model, "employer_name"):  # kept for the outcome's message, where the owner lacks it
            keys["employer_name"] = employer_name
        request = self.model(employer_no=employer_no, changes=rows, operator=principal.display_name, **keys)
        session.add(request)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent submission won the race for the one pending slot
            session.rollback()
            raise BusinessError(self.pending_message, 409) from exc
        self.registry.submit(session, self.business_type, str(request.id), employer_no=employer_no,
                             employer_name=employer_name, initiator=principal.display_name,
                             initiator_login=principal.login_name)
        commit_and_relay(session)
        return request

    def resubmit(self, principal: Principal, request_id: int, changes: list[dict[str, str]], *, employer_no: str,
                 employer_name: str) -> Any:
        """Replace a returned request's rows with the corrected ones and send it back into its process.

        One transaction: the rows, returned -> in_approval and ``business.resubmitted`` (the registry's
        shared 重新提交, with the corrected rows). The move is a conditional update whose row count
        decides, so of simultaneous resubmissions exactly one goes on and emits; the others answer 409.
        """
        session = db.session()
        request = session.get(self.model, request_id) if integer_id(str(request_id)) is not None else None
        if request is None or request.employer_no != employer_no:  # another employer's id looks missing
            raise BusinessError(MISSING_MESSAGE, 404)
        if request.status != RETURNED:
            raise BusinessError(NOT_RETURNED_MESSAGE, 409)
        rows = self.check(self.target(request), changes)
        self.registry.resubmit_returned(
            principal, self.business_type, str(request_id),
            lambda business_id, operator: self.reopen(business_id, operator, rows),
            missing=MISSING_MESSAGE, not_returned=NOT_RETURNED_MESSAGE, employer_name=employer_name,
        )
        request = session.get(self.model, request_id, populate_existing=True)  # what the update wrote
        assert request is not None
        return request

    # -- the business as the registry sees it --------------------------------------------------------

    def request(self, business_id: str) -> Any | None:
        request_id = integer_id(business_id)
        return None if request_id is None else db.session().get(self.model, request_id)

    def summarize(self, business_id: str) -> Summary:
        request = self.request(business_id)
        if request is None:
            raise LookupError(f"change request {business_id} does not exist")
        return Summary(text="、".join(row["label"] for row in request.changes), row_count=len(request.changes))

    def read_rows(self, business_id: str, page: int, per_page: int) -> Rows | None:
        request = self.request(business_id)
        if request is None:
            return None
        start = (page - 1) * per_page
        items = [{"label": r["label"], "old": r["old"], "new": self._shown(r)}
                 for r in request.changes[start:start + per_page]]
        return Rows(employer_no=request.employer_no, items=items, total=len(request.changes))

    def _shown(self, row: dict[str, Any]) -> str:
        item = self.by_name.get(row["field"])
        return item.show(row["new"]) if item else str(row["new"])

    def shown_rows(self, request: Any) -> list[dict[str, Any]]:
        """The request's rows with coded values named, as pages and messages show them."""
        return [{**row, "new": self._shown(row)} for row in request.changes]

    def transition(self, outcome: Outcome, from_states: tuple[str, ...], **values: Any) -> Any | None:
        """Move the request from one of ``from_states`` once: the conditional update's row count decides,
        so of concurrent deliveries (or an approval racing a rejection or an end) exactly one goes on.
        Returns the request if this call moved it."""
        session = db.session()
        request_id = integer_id(outcome.business_id)
        if request_id is None:
            raise LookupError(f"change request {outcome.business_id} does not exist")
        if outcome.instance_id is not None:
            values["instance_id"] = outcome.instance_id
        moved = session.execute(_transition_statement(self.model, from_states, tuple(sorted(values))),
                                {"request_id": request_id, **{f"v_{k}": v for k, v in values.items()}})
        request = session.get(self.model, request_id, populate_existing=True)
        if request is None:
            raise LookupError(f"change request {request_id} does not exist")
        if cast(CursorResult[Any], moved).rowcount != 1:
            return None
        return request

    def _decide(self, outcome: Outcome) -> Any | None:
        """Move the request out of approval once (approved or rejected)."""
        return self.transition(outcome, (IN_APPROVAL,), status=APPROVED if outcome.approved else REJECTED,
                               decided_at=db.utcnow(), approver=outcome.approver, opinion=outcome.opinion)

    def mark_returned(self, outcome: Outcome) -> None:
        """A reviewer sent the request back: it keeps its rows for the employer to correct, with the
        reviewer's opinion. Only a request in approval can be returned; a late or repeated delivery
        changes nothing."""
        self.transition(outcome, (IN_APPROVAL,), status=RETURNED, returned_at=db.utcnow(),
                        approver=outcome.approver, opinion=outcome.opinion)

    def apply(self, outcome: Outcome) -> None:
        if self.refusal is not None:
            waiting = self.request(outcome.business_id)
            reason = self.refusal(waiting) if waiting is not None and waiting.status == IN_APPROVAL else None
            if reason:
                self.discard(replace(outcome, kind=REJECTED_KIND, opinion=reason[:500]))
                return
        request = self._decide(outcome)
        if request is None:
            return
        session = db.session()
        record = self.target(request)
        applied: list[dict[str, Any]] = []
        for row in request.changes:
            item = self.by_name[row["field"]]
            old = item.show(self.current(record, item.name))
            self.write(record, item, row["new"])
            if self.history is not None:
                session.add(self.history(request, record, {**row, "new": item.show(row["new"])}, old))
            applied.append({**row, "old": old, "new": item.show(row["new"])})
        self.on_applied(request, record, applied)

    def discard(self, outcome: Outcome) -> None:
        if outcome.kind == ENDED_KIND:
            # 结束流程 (or terminated by the center) while in approval or returned: finished without
            # effect, the slot is free for a new submission. The employer learns it from the process.
            self.transition(outcome, PENDING, status=ENDED, decided_at=db.utcnow(),
                            ended_by=outcome.by or None, end_reason=outcome.reason)
            return
        request = self._decide(outcome)
        if request is not None:
            self.on_rejected(request, self.target(request))

    def reopen(self, business_id: str, operator: str, rows: list[dict[str, str]] | None = None) -> bool:
        """returned -> in_approval once (the row count decides), with the corrected rows if given, else as
        it stands (the generic 重新提交)."""
        request_id = integer_id(business_id)
        if request_id is None:
            return False
        values: dict[str, Any] = {"status": IN_APPROVAL, "operator": operator, "submitted_at": db.utcnow(),
                                  "approver": None, "opinion": None}
        if rows is not None:
            values["changes"] = rows
        session = db.session()
        moved = session.execute(update(self.model).where(self.model.id == request_id,
                                                         self.model.status == RETURNED)
                                .values(**values).execution_options(synchronize_session=False))
        if cast(CursorResult[Any], moved).rowcount != 1:  # another click resubmitted (or it ended) meanwhile
            return False
        session.get(self.model, request_id, populate_existing=True)  # the summary reads the new rows
        return True

    def register(self) -> BusinessType:
        return self.registry.register(BusinessType(
            type=self.business_type, summarize=self.summarize, read_rows=self.read_rows, apply=self.apply,
            discard=self.discard, mark_returned=self.mark_returned, columns=COLUMNS,
            rows_caption=self.rows_caption, reopen=self.reopen,
        ))

    def event_data(self, request: Any, employer_name: str, changes: list[dict[str, Any]], title: str) -> dict[str, Any]:
        """The domain event's common data: the owner adds its record's keys."""
        return {
            "employer_no": request.employer_no,
            "employer_name": employer_name,
            "business_type": self.business_type,
            "business_id": str(request.id),
            "title": title,
            "changes": changes,
            # What the message's reference names (the catalog's summary_label: 变更项).
            "summary": "、".join(row["label"] for row in changes)[:200],
            "operator": request.operator,
            "approver": request.approver,
            "opinion": request.opinion,
        }

    def subject(self, request: Any) -> str:
        return f"{self.business_type}/{request.id}"


_STATEMENTS: dict[tuple[Any, tuple[str, ...], tuple[str, ...]], Any] = {}


def _transition_statement(model: type[Any], from_states: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """On the table and built once per kind of move, with bound values: one runs for every outcome."""
    key = (model, from_states, names)
    statement = _STATEMENTS.get(key)
    if statement is None:
        table = cast(Table, model.__table__)
        statement = (update(table)
                     .where(table.c.id == bindparam("request_id", type_=Integer()), table.c.status.in_(from_states))
                     .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}))
        _STATEMENTS[key] = statement
    return statement
