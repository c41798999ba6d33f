"""Events this service consumes."""

from __future__ import annotations

from hall_common.runtime import Handler

from .services import start_process

HANDLERS: dict[str, Handler] = {"business.submitted": start_process}
