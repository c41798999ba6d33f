"""Events this service consumes."""

from __future__ import annotations

from hall_common.runtime import Handler

from . import tracks
from .services import MESSAGES, add_message

HANDLERS: dict[str, Handler] = {event_type: add_message for event_type in MESSAGES}
# The workflow's process events: one folded state per instance, for 待办 / 已办 / 我发起的.
HANDLERS.update(tracks.HANDLERS)
