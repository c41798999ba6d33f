"""Events this service consumes: none yet (payments arrive with the money issues)."""

from __future__ import annotations

from hall_common.runtime import Handler

HANDLERS: dict[str, Handler] = {}
