"""Events this service consumes beyond the common ones (session revocation): none yet."""

from __future__ import annotations

from hall_common.runtime import Handler

HANDLERS: dict[str, Handler] = {}
