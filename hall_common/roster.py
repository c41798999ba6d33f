"""The roster (清册), once: rows gathered by single entry or import, deleted with a confirmation, then
one commit that turns them into one business through the BusinessRegistry.

An owning service declares each of its roster businesses as a ``RosterType`` (its form, its import
template, its row check, the re-check at commit, its apply step) and adds it to its ``RosterBook``; the
book keeps the rows in the owner's tables (``roster_models``), registers the business with the
registry (summary, rows for the approver, apply / discard / return / reopen) and serves the routes
(hall_common.roster_api). Nothing else is written per business.

Once means once: a row joins a business by a conditional update (``batch_id IS NULL``) whose row count
must equal the rows the operator committed, so of two simultaneous commits one goes on and the other
stores nothing; a subject (an ID number, a member) is in at most one live row per employer and type by
a unique index on the row's claim, whoever adds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from . import business_types, db
from .business import (
    ENDED as ENDED_KIND,
)
from .business import (
    BusinessRegistry,
    BusinessType,
    Outcome,
    Rows,
    Summary,
    integer_id,
)
from .errors import BusinessError
from .outbox import commit_and_relay
from .roster_models import (
    APPROVED,
    ENDED,
    IN_APPROVAL,
    PENDING,
    REJECTED,
    RETURNED,
    RosterModels,
)
from .roster_types import CHUNK, Checked, FormField, ImportOption, RosterType, RowCheck, chunks
from .security import Principal
from .sheets import RowError

# The declarations are importable from here, where the book that takes them lives.
__all__ = ["CHUNK", "Checked", "FormField", "ImportOption", "RosterBook", "RosterType", "RowCheck", "chunks"]

STALE = "清册已提交或已变化，请刷新后重试"
EMPTY = "清册为空，请先录入清册"
NOTHING_SELECTED = "请在清册中选择需办理的记录"
ROW_MISSING = "清册记录不存在"
MAX_COMMIT_ROWS = 100_000
# Errors a refused commit names in its message; the rest are counted.
ERRORS_IN_MESSAGE = 20


class RosterBook:
    """The roster businesses one service owns, kept in its tables."""

    def __init__(self, owner: str, models: RosterModels, registry: BusinessRegistry) -> None:
        self.owner = owner
        self.models = models
        self.registry = registry
        self._types: dict[str, RosterType] = {}

    # -- declaration -----------------------------------------------------------------------------

    def add(self, roster: RosterType) -> RosterType:
        self._types[roster.type] = roster
        self.registry.register(BusinessType(
            type=roster.type,
            summarize=partial(self._summarize, roster),
            read_rows=self._read_rows,
            apply=self._apply,
            discard=self._discard,
            mark_returned=self._mark_returned,
            columns=roster.display,
            rows_caption=roster.rows_caption,
            reopen=self._reopen,
        ))
        return roster

    def get(self, type_: str) -> RosterType:
        roster = self._types.get(type_)
        if roster is None:
            raise BusinessError("业务类型不存在", 404)
        return roster

    def types(self) -> list[RosterType]:
        return list(self._types.values())

    @staticmethod
    def permission(type_: str) -> str | None:
        return business_types.permission_of(type_)

    def form(self, type_: str) -> dict[str, Any]:
        roster = self.get(type_)
        option = roster.import_option
        return {
            "type": roster.type,
            "title": business_types.resolve(roster.type).title,
            "entry_label": roster.entry_label,
            "entry_message": roster.entry_message,
            "commit_label": roster.commit_label,
            "commit_scope": roster.commit_scope,
            "fields": [{"key": f.key, "label": f.label, "kind": f.kind, "required": f.required,
                        "default": f.default, "max_length": f.max_length,
                        "choices": [{"value": v, "label": text} for v, text in f.choices]} for f in roster.fields],
            "columns": [{"key": c.key, "label": c.label} for c in roster.display],
            "import_option": None if option is None else {
                "key": option.key, "label": option.label, "default": option.default,
                "choices": [{"value": v, "label": text} for v, text in option.choices]},
        }

    # -- the draft rows --------------------------------------------------------------------------

    def _draft(self, employer_no: str, type_: str) -> Any:
        row = self.models.row
        return ((row.employer_no == employer_no) & (row.business_type == type_) & row.batch_id.is_(None)
                & (row.staged.is_(False)))

    def list_rows(self, employer_no: str, type_: str, page: int, per_page: int) -> dict[str, Any]:
        roster = self.get(type_)
        row = self.models.row
        session = db.session()
        where = self._draft(employer_no, type_)
        total = session.scalar(select(func.count()).select_from(row).where(where)) or 0
        found = session.scalars(select(row).where(where).order_by(row.id).offset((page - 1) * per_page).limit(per_page))
        return {"items": [self.row_view(roster, r) for r in found], "total": total, "page": page, "per_page": per_page}

    @staticmethod
    def row_view(roster: RosterType, row: Any) -> dict[str, Any]:
        data = roster.shown(row.data)
        values = {c.key: data.get(c.key, "") for c in roster.display}
        return {"id": row.id, "row_no": row.row_no, **values, "result": row.result or "",
                "created_by": row.created_by,
                "created_at": row.created_at.isoformat(timespec="seconds") + "Z"}

    def entry(self, employer_no: str, type_: str, values: Mapping[str, str],
              keep: str | None = None) -> tuple[str, Any]:
        """One row typed on a form, checked as an imported one is: its (claim, data), or a 422 naming each
        field's reasons. ``keep``: the claim the row being corrected already holds (not a duplicate)."""
        roster = self.get(type_)
        checked = roster.check(employer_no, "", [(0, values)], {})
        keys = {f.label: f.key for f in roster.fields} | {c.label: c.key for c in roster.columns}
        claim = checked.good[0][1] if not checked.errors and checked.good else None
        if claim is not None and claim != keep and self._claimed(employer_no, type_, [claim]):
            checked.errors.append(RowError(0, _label(roster, roster.claim_field),
                                           roster.claimed(claim, checked.good[0][2])))
        if checked.errors:
            per_field: dict[str, list[str]] = {}
            for error in checked.errors:
                per_field.setdefault(keys.get(error.field, roster.claim_field), []).append(error.reason)
            message = "；".join(f"{e.field}：{e.reason}" if e.field else e.reason for e in checked.errors)
            raise BusinessError(message, 422, {"json": per_field})
        return checked.good[0][1], checked.good[0][2]

    def add_row(self, principal: Principal, employer_no: str, type_: str, values: Mapping[str, str]) -> Any:
        """录入清册: one row typed on the form, checked as an imported one is."""
        roster = self.get(type_)
        claim, data = self.entry(employer_no, type_, values)
        session = db.session()
        row = self.models.row(employer_no=employer_no, business_type=type_, claim=claim, data=data,
                              created_by=principal.display_name)
        session.add(row)
        try:
            session.commit()
        except IntegrityError as exc:  # another operator added the same subject a moment ago
            session.rollback()
            text = roster.claimed(claim, data)
            raise BusinessError(text, 409, {"json": {roster.claim_field: [text]}}) from exc
        return row

    def upsert_row(self, principal: Principal, employer_no: str, type_: str, claim: str,
                   values: Mapping[str, str]) -> Any:
        """The subject's draft row replaced by these values, or added (the batch-edit grid: a cell left
        records its row at once). The draft is found by its claim in the UPDATE itself, so of two
        simultaneous edits of one subject one row results; a subject held by a staged import or a
        pending business is refused as a second entry would be."""
        roster = self.get(type_)
        found, data = self.entry(employer_no, type_, values, keep=claim)
        if found != claim:
            raise BusinessError(f"{_label(roster, roster.claim_field)}与所编辑的记录不符", 422)
        row = self.models.row
        session = db.session()
        for _attempt in range(2):  # the second: a simultaneous edit inserted the draft first
            moved = session.execute(update(row).where(self._draft(employer_no, type_), row.claim == claim)
                                    .values(data=data, result=None, created_by=principal.display_name)
                                    .execution_options(synchronize_session=False))
            if cast(CursorResult[Any], moved).rowcount == 1:
                session.commit()
                return session.scalar(select(row).where(self._draft(employer_no, type_), row.claim == claim)
                                      .execution_options(populate_existing=True))
            added = self.models.row(employer_no=employer_no, business_type=type_, claim=claim, data=data,
                                    created_by=principal.display_name)
            session.add(added)
            try:
                session.commit()
                return added
            except IntegrityError:
                session.rollback()
        text = roster.claimed(claim, data)
        raise BusinessError(text, 409, {"json": {roster.claim_field: [text]}})

    def _claimed(self, employer_no: str, type_: str, claims: Sequence[str]) -> set[str]:
        """The claims already held by live rows (drafts, staged imports, pending businesses)."""
        row = self.models.row
        session = db.session()
        live = row.employer_no == employer_no, row.business_type == type_, row.claim.is_not(None)
        if session.scalar(select(row.id).where(*live).limit(1)) is None:
            return set()  # an empty roster (the usual first import): nothing to look up
        found: set[str] = set()
        for part in chunks(list(claims)):
            found.update(session.scalars(select(row.claim).where(*live[:2], row.claim.in_(part))))
        return found

    def delete_row(self, employer_no: str, type_: str, row_id: int) -> None:
        self.get(type_)
        row = self.models.row
        session = db.session()
        gone = session.execute(delete(row).where(self._draft(employer_no, type_), row.id == row_id))
        if cast(CursorResult[Any], gone).rowcount != 1:
            session.rollback()
            raise BusinessError(ROW_MISSING, 404)
        session.commit()

    # -- commit: the roster becomes one business --------------------------------------------------

    def commit(self, principal: Principal, employer_no: str, type_: str, row_ids: Sequence[int]) -> Any:
        roster = self.get(type_)
        row, batch_model = self.models.row, self.models.batch
        session = db.session()
        draft = self._draft(employer_no, type_)
        ids = sorted(set(row_ids))
        if roster.commit_scope == "selected" and not ids:
            raise BusinessError(NOTHING_SELECTED, 422)
        if len(ids) > MAX_COMMIT_ROWS:
            raise BusinessError(f"一次最多办理{MAX_COMMIT_ROWS}条记录", 422)
        if ids:
            rows = [r for part in chunks(ids) for r in session.scalars(select(row).where(draft, row.id.in_(part)))]
            if len(rows) != len(ids):
                raise BusinessError(STALE, 409)
        else:
            rows = list(session.scalars(select(row).where(draft).order_by(row.id)))
            if not rows:
                raise BusinessError(EMPTY, 422)
        rows.sort(key=lambda r: r.id)
        errors = roster.recheck(employer_no, rows)
        if errors:
            raise BusinessError(refusal(errors), 422, {"rows": [e.text() for e in errors[:500]]})
        batch = batch_model(employer_no=employer_no, employer_name=principal.employer_name or "", business_type=type_,
                            row_count=len(rows), operator=principal.display_name, operator_login=principal.login_name)
        session.add(batch)
        session.flush()
        moved = 0
        for part in chunks([r.id for r in rows]):
            result = session.execute(update(row).where(draft, row.id.in_(part)).values(batch_id=batch.id)
                                     .execution_options(synchronize_session=False))
            moved += cast(CursorResult[Any], result).rowcount
        if moved != len(rows):  # a simultaneous commit took some of them, or one was deleted
            session.rollback()
            raise BusinessError(STALE, 409)
        self.registry.submit(session, type_, str(batch.id), employer_no=employer_no, employer_name=batch.employer_name,
                             initiator=principal.display_name, initiator_login=principal.login_name)
        commit_and_relay(session)
        return batch

    # -- the business as the registry sees it ----------------------------------------------------

    def _batch(self, business_id: str) -> Any | None:
        batch_id = integer_id(business_id)
        return None if batch_id is None else db.session().get(self.models.batch, batch_id)

    def batch_rows(self, batch: Any) -> list[Any]:
        row = self.models.row
        return list(db.session().scalars(select(row).where(
            row.employer_no == batch.employer_no, row.business_type == batch.business_type, row.batch_id == batch.id)
            .order_by(row.id)))

    def _summarize(self, roster: RosterType, business_id: str) -> Summary:
        batch = self._batch(business_id)
        if batch is None:
            raise LookupError(f"roster business {business_id} does not exist")
        variables: dict[str, Any] = {"row_count": batch.row_count}
        if roster.variables is not None:
            variables.update(roster.variables(self.batch_rows(batch)))
        return Summary(text=f"{batch.row_count}{roster.summary_unit}", row_count=batch.row_count,
                       variables=variables)

    def _read_rows(self, business_id: str, page: int, per_page: int) -> Rows | None:
        batch = self._batch(business_id)
        if batch is None or batch.business_type not in self._types:
            return None
        roster = self._types[batch.business_type]
        row = self.models.row
        found = db.session().scalars(select(row).where(row.employer_no == batch.employer_no,
                                                       row.business_type == batch.business_type,
                                                       row.batch_id == batch.id).order_by(row.id)
                                     .offset((page - 1) * per_page).limit(per_page))
        items = []
        for r in found:
            data = roster.shown(r.data)
            item = {c.key: data.get(c.key, "") for c in roster.display}
            items.append(item | ({"result": r.result} if r.result else {}))
        return Rows(employer_no=batch.employer_no, items=items, total=batch.row_count)

    def _transition(self, outcome: Outcome, from_states: tuple[str, ...], **values: Any) -> Any | None:
        """Move the business once: the conditional update's row count decides, so of concurrent deliveries
        (or an approval racing an end) exactly one goes on. Returns the batch if this call moved it."""
        batch_id = integer_id(outcome.business_id)
        if batch_id is None:
            raise LookupError(f"roster business {outcome.business_id} does not exist")
        model = self.models.batch
        if outcome.instance_id is not None:
            values["instance_id"] = outcome.instance_id
        session = db.session()
        moved = session.execute(update(model).where(model.id == batch_id, model.status.in_(from_states))
                                .values(**values).execution_options(synchronize_session=False))
        batch = session.get(model, batch_id, populate_existing=True)
        if batch is None:
            raise LookupError(f"roster business {batch_id} does not exist")
        return batch if cast(CursorResult[Any], moved).rowcount == 1 else None

    def _release(self, batch: Any) -> None:
        """A finished business lets its subjects into a roster again."""
        row = self.models.row
        db.session().execute(update(row).where(row.employer_no == batch.employer_no,
                                               row.business_type == batch.business_type,
                                               row.batch_id == batch.id).values(claim=None)
                             .execution_options(synchronize_session=False))

    def _apply(self, outcome: Outcome) -> None:
        batch = self._transition(outcome, (IN_APPROVAL,), status=APPROVED, decided_at=db.utcnow(),
                                 approver=outcome.approver, opinion=outcome.opinion)
        if batch is None:
            return
        self._types[batch.business_type].apply(batch, self.batch_rows(batch))
        self._release(batch)

    def _discard(self, outcome: Outcome) -> None:
        if outcome.kind == ENDED_KIND:
            batch = self._transition(outcome, PENDING, status=ENDED, decided_at=db.utcnow(),
                                     ended_by=outcome.by or None, end_reason=outcome.reason)
        else:
            batch = self._transition(outcome, (IN_APPROVAL,), status=REJECTED, decided_at=db.utcnow(),
                                     approver=outcome.approver, opinion=outcome.opinion)
        if batch is not None:
            self._release(batch)

    def _mark_returned(self, outcome: Outcome) -> None:
        self._transition(outcome, (IN_APPROVAL,), status=RETURNED, approver=outcome.approver,
                         opinion=outcome.opinion)

    def _reopen(self, business_id: str, operator: str) -> bool:
        batch_id = integer_id(business_id)
        if batch_id is None:
            return False
        model = self.models.batch
        moved = db.session().execute(update(model).where(model.id == batch_id, model.status == RETURNED)
                                     .values(status=IN_APPROVAL, operator=operator, submitted_at=db.utcnow(),
                                             approver=None, opinion=None)
                                     .execution_options(synchronize_session=False))
        return cast(CursorResult[Any], moved).rowcount == 1


def refusal(errors: Sequence[RowError]) -> str:
    shown = "；".join(e.text() for e in errors[:ERRORS_IN_MESSAGE])
    more = len(errors) - ERRORS_IN_MESSAGE
    return shown + (f"；另有{more}处错误" if more > 0 else "")


def _label(roster: RosterType, key: str) -> str:
    return next((f.label for f in roster.fields if f.key == key), key)
