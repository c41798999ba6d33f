"""Events this service consumes (run by the shared consumer inside its transaction)."""

from __future__ import annotations

from hall_common.runtime import Handler

from .services import BUSINESSES

# Outcomes dispatch by business_type through the registry: a new business is one registration.
HANDLERS: dict[str, Handler] = BUSINESSES.outcome_handlers()
