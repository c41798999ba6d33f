"""Events this service consumes: none yet (member business arrives with its own issues)."""

from __future__ import annotations

from hall_common.runtime import Handler

HANDLERS: dict[str, Handler] = {}
