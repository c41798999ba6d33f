"""Events this service consumes: none yet (the UKey and audit events of the full login come later)."""

from __future__ import annotations

from hall_common.runtime import Handler

HANDLERS: dict[str, Handler] = {}
