"""A returned roster business corrected where it stands (manual: the center returns business for the
employer to fix): the operator changes a row's values (checked as a typed row is) or takes a row out,
then 重新提交 sends the corrected business back into the same process (BusinessRegistry's generic
resubmit, whose summary is computed from the corrected rows).

Every write is conditional on the business still being returned, in the same statement: a correction
racing 重新提交, an end or another operator's correction changes the rows of a returned business or
nothing at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from . import db
from .errors import BusinessError
from .roster import RosterBook
from .roster_models import RETURNED
from .security import Principal

MISSING = "业务不存在"
NOT_RETURNED = "该业务未被退回，不能修改，请刷新后查看"
ROW_MISSING = "该记录不在此业务中，请刷新后查看"
LAST_ROW = "退回的业务至少保留一条记录；如不再办理，请结束流程"


def _returned_batch(book: RosterBook, employer_no: str, type_: str, business_id: int) -> Any:
    batch = db.session().get(book.models.batch, business_id)
    if batch is None or batch.employer_no != employer_no or batch.business_type != type_:
        raise BusinessError(MISSING, 404)  # another employer's business looks missing
    return batch


def rows(book: RosterBook, employer_no: str, type_: str, business_id: int, page: int,
         per_page: int) -> dict[str, Any]:
    """One page of the business's rows as the roster shows them, each with the form's values to
    correct it from, and whether it may still be corrected."""
    roster = book.get(type_)
    batch = _returned_batch(book, employer_no, type_, business_id)
    row = book.models.row
    found = db.session().scalars(select(row).where(row.employer_no == employer_no, row.business_type == type_,
                                                   row.batch_id == batch.id).order_by(row.id)
                                 .offset((page - 1) * per_page).limit(per_page))
    items = [{**book.row_view(roster, r), "values": {f.key: str(r.data.get(f.key, "")) for f in roster.fields}}
             for r in found]
    return {"items": items, "total": batch.row_count, "page": page, "per_page": per_page,
            "status": batch.status, "correctable": batch.status == RETURNED, "caption": roster.rows_caption,
            "columns": [{"key": c.key, "label": c.label} for c in roster.display]}


def _still_returned(book: RosterBook, batch_id: int) -> Any:
    model = book.models.batch
    return exists().where(model.id == batch_id, model.status == RETURNED)


def correct(book: RosterBook, principal: Principal, employer_no: str, type_: str, business_id: int, row_id: int,
            values: Mapping[str, str]) -> Any:
    """The row's values replaced by corrected ones, checked as a typed row (its subject may change, to
    one not already in a roster or a pending business)."""
    roster = book.get(type_)
    batch = _returned_batch(book, employer_no, type_, business_id)
    if batch.status != RETURNED:
        raise BusinessError(NOT_RETURNED, 409)
    row = book.models.row
    session = db.session()
    current = session.get(row, row_id)
    if current is None or current.batch_id != batch.id or current.employer_no != employer_no:
        raise BusinessError(ROW_MISSING, 404)
    claim, data = book.entry(employer_no, type_, values, keep=current.claim)
    try:
        moved = session.execute(update(row).where(row.id == row_id, row.batch_id == batch.id,
                                                  _still_returned(book, batch.id))
                                .values(claim=claim, data=data, result=None, created_by=principal.display_name)
                                .execution_options(synchronize_session=False))
        if cast(CursorResult[Any], moved).rowcount != 1:
            session.rollback()
            raise BusinessError(NOT_RETURNED, 409)
        session.commit()
    except IntegrityError as exc:  # the new subject was entered elsewhere a moment ago
        session.rollback()
        text = roster.claimed(claim, data)
        raise BusinessError(text, 409, {"json": {roster.claim_field: [text]}}) from exc
    return session.get(row, row_id, populate_existing=True)


def remove(book: RosterBook, employer_no: str, type_: str, business_id: int, row_id: int) -> None:
    """A row taken out of the returned business: the business keeps at least one row (ending it is
    结束流程), and its count drops with the row in one transaction."""
    batch = _returned_batch(book, employer_no, type_, business_id)
    if batch.status != RETURNED:
        raise BusinessError(NOT_RETURNED, 409)
    model, row = book.models.batch, book.models.row
    session = db.session()
    counted = session.execute(update(model).where(model.id == batch.id, model.status == RETURNED,
                                                  model.row_count > 1)
                              .values(row_count=model.row_count - 1).execution_options(synchronize_session=False))
    if cast(CursorResult[Any], counted).rowcount != 1:
        session.rollback()
        raise BusinessError(LAST_ROW if batch.row_count <= 1 else NOT_RETURNED, 409)
    gone = session.execute(delete(row).where(row.id == row_id, row.batch_id == batch.id, row.employer_no == employer_no)
                           .execution_options(synchronize_session=False))
    if cast(CursorResult[Any], gone).rowcount != 1:
        session.rollback()
        raise BusinessError(ROW_MISSING, 404)
    session.commit()
