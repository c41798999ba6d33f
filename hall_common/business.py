"""Business types: an owning service registers each of its businesses once; the spine does the rest.

A registration names the type and its title, how the approver sees it (a one-line summary, the row
count and the few variables BPMN gateways decide on), how the center's task page reads its rows, and
what happens on approval and on rejection. From the registry come:

- the ``business.submitted`` event, carrying the key and the summary only: the rows stay with the owner;
  and ``business.resubmitted`` (same data) when the employer corrects a returned business;
- the handlers of ``business.approved`` / ``business.rejected`` / ``business.returned`` /
  ``business.ended``, dispatched by ``business_type`` (a type the service does not own raises, so the
  consumer never records the event as processed);
- the read route ``GET /businesses/<business_type>/<business_id>`` (paged rows) the center may call;
- the generic ``POST /businesses/<business_type>/<business_id>/resubmit``: a returned business sent back
  into its process as it stands (the gateway's generic returned-business page, for a type without a
  page of its own).

The title and the employer permission are the catalog's (hall_common.business_types): ``register``
takes them from there, or declares a type the catalog lacks, so nothing is declared twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from . import business_types, db
from .access import allow
from .business_types import BusinessTypeInfo
from .errors import BusinessError
from .outbox import commit_and_relay, emit
from .runtime import Handler
from .schemas import INT32_MAX, PageQuery
from .security import Principal, current_principal, require_employer

SUMMARY_MAX_CHARS = 200
# Variables are copied into every task of the process state: keep them to what gateways need.
VARIABLES_MAX_BYTES = 256
# Names the workflow service itself writes into the process data when a task is completed.
RESERVED_VARIABLES = frozenset({"approved", "opinion", "approver"})
Variable = str | int | bool | None


def integer_id(business_id: str) -> int | None:
    """A business id as the integer key its owner stores, or None if it cannot be one: ids travel as
    text, and ``str.isdigit`` alone lets through '²' (int() refuses it) and ids beyond SQL INTEGER."""
    if not (business_id.isascii() and business_id.isdigit()):
        return None
    value = int(business_id)
    return value if value <= INT32_MAX else None


class UnknownBusinessType(LookupError):
    """An outcome for a business type this service does not own: a routing or registration bug."""


@dataclass(frozen=True)
class Summary:
    """What travels with the business: a line for the approver, the row count, the gateways' inputs."""

    text: str
    row_count: int
    variables: Mapping[str, Variable] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Rows:
    """One page of a business's rows as the owner keeps them."""

    employer_no: str
    items: list[dict[str, Any]]
    total: int


APPROVED, REJECTED, RETURNED, ENDED = "approved", "rejected", "returned", "ended"
# outcome event type -> Outcome.kind
OUTCOME_KINDS: dict[str, str] = {
    "business.approved": APPROVED,
    "business.rejected": REJECTED,
    "business.returned": RETURNED,
    "business.ended": ENDED,
}


@dataclass(frozen=True)
class Outcome:
    """What the approval process told the owner about one business.

    ``kind``: approved / rejected (the process completed), returned (a reviewer sent it back for
    correction; the process waits for a resubmission) or ended (结束流程 by the employer, or terminated
    by the center: ``by`` is employer or center, ``reason`` says why).
    """

    business_type: str
    business_id: str
    kind: str
    approver: str
    opinion: str
    event_id: str
    instance_id: int | None = None
    by: str = ""
    reason: str = ""

    @property
    def approved(self) -> bool:
        return self.kind == APPROVED

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Outcome:
        data = event["data"]
        kind = OUTCOME_KINDS.get(event["type"])
        if kind is None:
            raise ValueError(f"{event['type']} is not an outcome of a business")
        instance_id = integer_id(str(data.get("instance_id", "")))
        return cls(
            business_type=str(data["business_type"]),
            business_id=str(data["business_id"]),
            kind=kind,
            approver=str(data.get("approver") or ""),
            opinion=str(data.get("opinion") or ""),
            event_id=str(event["id"]),
            instance_id=instance_id,
            by=str(data.get("by") or ""),
            reason=str(data.get("reason") or ""),
        )


MISSING = "业务不存在"
NOT_RETURNED = "该业务未被退回，不能重新提交，请刷新后查看"


@dataclass(frozen=True)
class BusinessType:
    type: str
    # business_id -> its summary; called in the submitting transaction, after the business is stored
    summarize: Callable[[str], Summary]
    # (business_id, page, per_page) -> one page of rows, or None if there is no such business
    read_rows: Callable[[str, int, int], Rows | None]
    # Run inside the consumer's transaction; each must decide once (a conditional update on the
    # business's state whose row count decides) and may emit the owner's domain events.
    apply: Callable[[Outcome], None]
    # Rejected, or ended (outcome.kind == "ended": by the employer or the center, with a reason):
    # the business is finished without effect and may be submitted again.
    discard: Callable[[Outcome], None]
    # Returned for correction: in_approval -> returned, the data kept for the employer to correct
    # and resubmit (``BusinessRegistry.resubmit``) or end.
    mark_returned: Callable[[Outcome], None]
    columns: tuple[Column, ...]
    rows_caption: str = "业务清册"
    # (business_id, operator's display name) -> whether this call moved the business returned ->
    # in_approval as it stands (a conditional update whose row count decides): the generic 重新提交.
    # None: the type is resubmitted only from its own page.
    reopen: Callable[[str, str], bool] | None = None
    # Leave both empty: they are the catalog's (business_types). A type the catalog lacks declares
    # them here, and register adds it to the catalog.
    title: str = ""
    # The employer's own accounts need this permission to read the rows; center staff always may.
    permission: str | None = None


# business type -> owning service, across every registry in the process: a type has one owner.
_OWNERS: dict[str, str] = {}


class BusinessRegistry:
    """The business types one service owns."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._types: dict[str, BusinessType] = {}
        self._declared: set[str] = set()  # types this registry added to the catalog

    def register(self, business: BusinessType) -> BusinessType:
        """Own a business type: its title and permission come from the catalog; a registration that
        contradicts the catalog is a bug, and a type the catalog lacks is declared there."""
        if _OWNERS.get(business.type, self.owner) != self.owner or business.type in self._types:
            raise ValueError(f"business type {business.type} is already registered")
        info = business_types.get(business.type)
        if info is None:
            info = business_types.declare(BusinessTypeInfo(
                business.type, business.title or business.type, self.owner, business.permission))
            self._declared.add(business.type)
        elif (info.owner != self.owner or (business.title and business.title != info.title)
              or (business.permission is not None and business.permission != info.permission)):
            raise ValueError(f"business type {business.type} differs from its declaration in business_types")
        business = replace(business, title=info.title, permission=info.permission)
        _OWNERS[business.type] = self.owner
        self._types[business.type] = business
        return business

    def unregister(self, type_: str) -> None:
        self._types.pop(type_, None)
        if _OWNERS.get(type_) == self.owner:
            del _OWNERS[type_]
        if type_ in self._declared:
            self._declared.discard(type_)
            business_types.withdraw(type_)

    def get(self, type_: str) -> BusinessType:
        business = self._types.get(type_)
        if business is None:
            raise UnknownBusinessType(f"{self.owner} owns no business type {type_!r}")
        return business

    def types(self) -> list[str]:
        return sorted(self._types)

    # -- submission ------------------------------------------------------------------------------

    def submit(
        self, session: Session, type_: str, business_id: str, *, employer_no: str, employer_name: str,
        initiator: str, initiator_login: str = "",
    ) -> dict[str, Any]:
        """Emit ``business.submitted`` in the caller's transaction, after it stored the business."""
        data = self._submission(type_, business_id, employer_no, employer_name, initiator, initiator_login)
        return emit(session, "business.submitted", data, subject=f"{type_}/{business_id}")

    def resubmit(
        self, session: Session, type_: str, business_id: str, *, employer_no: str, employer_name: str,
        initiator: str, initiator_login: str = "",
    ) -> dict[str, Any]:
        """Emit ``business.resubmitted`` in the caller's transaction, after it stored the corrected
        business and moved it returned -> in_approval: the same data as a submission, recomputed, so
        the process's gateways decide again on the corrected business."""
        data = self._submission(type_, business_id, employer_no, employer_name, initiator, initiator_login)
        return emit(session, "business.resubmitted", data, subject=f"{type_}/{business_id}")

    def _submission(
        self, type_: str, business_id: str, employer_no: str, employer_name: str, initiator: str,
        initiator_login: str,
    ) -> dict[str, Any]:
        business = self.get(type_)
        summary = checked_summary(business.summarize(business_id))
        return {
            "business_type": business.type,
            "business_id": business_id,
            "owner": self.owner,
            "title": business.title,
            # Travels with the instance: whoever acts on it later (end, resubmit) needs this permission.
            "permission": business.permission or "",
            "employer_no": employer_no,
            "employer_name": employer_name,
            "initiator": initiator,
            # The operator's login name: 我发起的 is per operator, and display names are not unique.
            "initiator_login": initiator_login,
            "summary": summary.text,
            "row_count": summary.row_count,
            "variables": dict(summary.variables),
        }

    def resubmit_returned(
        self, principal: Principal, type_: str, business_id: str,
        reopen: Callable[[str, str], bool] | None = None, *, missing: str = MISSING,
        not_returned: str = NOT_RETURNED, employer_name: str | None = None,
    ) -> None:
        """重新提交: the employer's own operator, with the type's permission, sends a returned business
        back into its process: ``reopen`` (the type's own by default) moves it returned -> in_approval
        once, then ``business.resubmitted`` goes in the same transaction. Of simultaneous clicks one
        goes on; the others answer 409 and change nothing."""
        business = self._types.get(type_)
        reopen = reopen or (business.reopen if business else None)
        rows = business.read_rows(business_id, 1, 1) if business and reopen else None
        if business is None or reopen is None or rows is None:
            raise BusinessError(missing, 404)
        if require_employer(rows.employer_no, business.permission, missing=missing).role != "employer":
            raise BusinessError("该业务只能由单位经办人办理", 403)
        session = db.session()
        if not reopen(business_id, principal.display_name):
            session.rollback()
            raise BusinessError(not_returned, 409)
        self.resubmit(session, type_, business_id, employer_no=rows.employer_no,
                      employer_name=employer_name if employer_name is not None else principal.employer_name or "",
                      initiator=principal.display_name, initiator_login=principal.login_name)
        commit_and_relay(session)

    # -- outcomes --------------------------------------------------------------------------------

    def handle_outcome(self, event: dict[str, Any]) -> None:
        outcome = Outcome.from_event(event)
        business = self.get(outcome.business_type)
        if outcome.kind == APPROVED:
            business.apply(outcome)
        elif outcome.kind == RETURNED:
            business.mark_returned(outcome)
        else:  # rejected or ended: finished without effect
            business.discard(outcome)

    def outcome_handlers(self) -> dict[str, Handler]:
        return {event_type: self.handle_outcome for event_type in OUTCOME_KINDS}

    # -- the read route --------------------------------------------------------------------------

    def blueprint(self) -> Blueprint:
        blp = Blueprint("businesses", __name__, description="The owner's businesses, read by the center's task page")

        @blp.route("/businesses/<business_type>/<business_id>")
        @allow("employer", "center")
        @blp.arguments(PageQuery, location="query")
        @blp.response(200, BusinessRowsSchema)
        def read_business(query: dict[str, Any], business_type: str, business_id: str) -> dict[str, Any]:
            return self.read(business_type, business_id, query["page"], query["per_page"])

        @blp.route("/businesses/<business_type>/<business_id>/resubmit", methods=["POST"])
        @allow("employer")
        @blp.response(200, ResubmittedSchema)
        def resubmit_business(business_type: str, business_id: str) -> dict[str, Any]:
            """A returned business resubmitted as it stands (the generic returned-business page)."""
            self.resubmit_returned(current_principal(), business_type, business_id)
            return {"message": "已重新提交至中心审核"}

        return blp

    def read(self, type_: str, business_id: str, page: int, per_page: int) -> dict[str, Any]:
        business = self._types.get(type_)
        rows = business.read_rows(business_id, page, per_page) if business else None
        if business is None or rows is None:
            raise BusinessError(MISSING, 404)
        require_employer(rows.employer_no, business.permission, missing=MISSING)
        return {
            "business_type": business.type,
            "business_id": business_id,
            "title": business.title,
            "caption": business.rows_caption,
            "employer_no": rows.employer_no,
            "columns": [{"key": c.key, "label": c.label} for c in business.columns],
            "items": rows.items,
            "total": rows.total,
            "page": page,
            "per_page": per_page,
        }


def checked_summary(summary: Summary) -> Summary:
    """Keep what travels small whatever the business's size; a registration that sends more is a bug."""
    text = " ".join(summary.text.split())
    if len(text) > SUMMARY_MAX_CHARS:
        text = text[: SUMMARY_MAX_CHARS - 1] + "…"
    if summary.row_count < 0:
        raise ValueError("row_count must not be negative")
    for name, value in summary.variables.items():
        if not name.isidentifier() or name in RESERVED_VARIABLES:
            raise ValueError(f"variable name {name!r} is not allowed")
        if value is not None and not isinstance(value, str | int | bool):
            raise ValueError(f"variable {name} must be text, an integer or a boolean")
    if len(json.dumps(dict(summary.variables), ensure_ascii=False).encode("utf-8")) > VARIABLES_MAX_BYTES:
        raise ValueError(f"variables exceed {VARIABLES_MAX_BYTES} bytes: pass only what gateways decide on")
    return Summary(text, summary.row_count, dict(summary.variables))


class ColumnSchema(Schema):
    key = fields.String()
    label = fields.String()


class BusinessRowsSchema(Schema):
    business_type = fields.String()
    business_id = fields.String()
    title = fields.String()
    caption = fields.String()
    employer_no = fields.String()
    columns = fields.List(fields.Nested(ColumnSchema))
    items = fields.List(fields.Dict(keys=fields.String()))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ResubmittedSchema(Schema):
    message = fields.String()
