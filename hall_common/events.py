"""CloudEvents envelopes and the catalog of who consumes which event.

Every event that crosses a service boundary is a CloudEvents 1.0 JSON object. ``ROUTES`` is the
single place that says which services receive an event type; ``OWNER`` stands for the service that
owns the business named in the event (``data.owner``), so the workflow service can hand outcomes
back without knowing each business. docs/events.md documents the same catalog for downstream systems.

Every type a service emits needs a route here, and every service a route names needs a handler for
the type (tests/unit/test_event_catalog.py checks both); the relay keeps an unrouted event unsent and
a consumer without a handler refuses the event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from .logs import EVENT_ATTRIBUTE as REQUEST_ID_ATTRIBUTE
from .logs import current_request_id
from .settings import SERVICES
from .tracing import event_attributes

SOURCE_PREFIX = "/hall/"
OWNER = "$owner"
# The downstream stream only (hall_common/downstream.py): a fact for systems outside the hall, which no
# service of the hall acts on. Such a type must be one the catalog sends downstream (test_event_catalog).
DOWNSTREAM = "$downstream"
ALL_SERVICES = SERVICES

ROUTES: dict[str, tuple[str, ...]] = {
    # An owning service submitted a business for approval: the workflow service starts its process.
    "business.submitted": ("workflow",),
    # The employer corrected a returned business: the workflow service resumes its process.
    "business.resubmitted": ("workflow",),
    # The approval process ended: the owning service applies or discards the business.
    "business.approved": (OWNER,),
    "business.rejected": (OWNER,),
    # A reviewer returned the business for correction: the owner makes it editable, data kept.
    "business.returned": (OWNER,),
    # 结束流程 by the employer, or terminated by the center: the owner discards the business.
    "business.ended": (OWNER,),
    # The process's life, for the employer's 待办 / 已办 / 我发起的 (notify keeps one state per instance).
    "process.started": ("notify",),
    "task.created": ("notify",),
    "task.claimed": ("notify",),
    "task.completed": ("notify",),
    "process.returned": ("notify",),
    "process.resubmitted": ("notify",),
    "process.ended": ("notify",),
    "process.completed": ("notify",),
    # Domain events: the result as the owner applied it.
    "employer.info_changed": ("notify",),
    "employer.info_change_rejected": ("notify",),
    # 零余额销户 applied (auth lets the employer's accounts query only) or refused.
    "employer.closed": ("notify", "auth"),
    "employer.closure_rejected": ("notify",),
    # A roster business of the member service was applied (the counts; its rows stay with the owner).
    "member.registered": ("notify",),
    "member.sealed": ("notify",),
    "member.unsealed": ("notify",),
    # A member info change (ch. 9) applied or rejected: the rows as applied, the member named.
    "member.info_changed": ("notify",),
    "member.info_change_rejected": ("notify",),
    "member.base_adjusted": ("notify",),
    # 补缴 booked from the unallocated amount, or approved but not booked (the money fell short meanwhile).
    "payment.supplemented": ("notify",),
    "payment.supplement_failed": ("notify",),
    # Money moved without an approval of its own: a bank's receipt stored, a monthly bill paid from the
    # unallocated amount, a year's interest booked for an employer. Downstream systems keep the books.
    "payment.receipt_booked": (DOWNSTREAM,),
    "payment.remittance_paid": (DOWNSTREAM,),
    "payment.interest_settled": (DOWNSTREAM,),
    # A logout: every service stops accepting the token at once.
    "auth.session_revoked": ALL_SERVICES,
}


def make_event(source_service: str, type_: str, data: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE_PREFIX + source_service,
        "type": type_,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject:
        event["subject"] = subject
    request_id = current_request_id()
    if request_id:  # a CloudEvents extension attribute: the request that caused the event (docs/observability.md)
        event[REQUEST_ID_ATTRIBUTE] = request_id
    # CloudEvents Distributed Tracing extension: the consumer's handling continues this span's trace
    # (traceparent, tracestate; nothing when tracing is off or no span is current).
    event.update(event_attributes())
    return event


def subscribers(event: dict[str, Any]) -> list[str]:
    result: list[str] = []
    for target in ROUTES.get(event["type"], ()):
        if target == DOWNSTREAM:
            continue
        name = event["data"].get("owner") if target == OWNER else target
        if name and name not in result:
            result.append(name)
    return result


def downstream_only(event: dict[str, Any]) -> bool:
    return ROUTES.get(event["type"]) == (DOWNSTREAM,)


def is_valid(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("specversion") == "1.0"
        and all(isinstance(event.get(k), str) and event.get(k) for k in ("id", "source", "type"))
        and isinstance(event.get("data"), dict)
    )
