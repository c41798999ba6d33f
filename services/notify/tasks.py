"""Events this service consumes."""

from __future__ import annotations

from hall_common.runtime import Handler

from .services import MESSAGES, add_message

HANDLERS: dict[str, Handler] = {event_type: add_message for event_type in MESSAGES}
