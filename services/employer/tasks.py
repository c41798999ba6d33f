"""Events this service consumes (run by the shared consumer inside its transaction)."""

from __future__ import annotations

from hall_common.runtime import Handler

from .services import apply_outcome

HANDLERS: dict[str, Handler] = {
    "business.approved": apply_outcome,
    "business.rejected": apply_outcome,
}
