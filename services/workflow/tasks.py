"""Events this service consumes."""

from __future__ import annotations

from hall_common.runtime import Handler

from .instances import resubmit_process, start_process

HANDLERS: dict[str, Handler] = {
    "business.submitted": start_process,
    "business.resubmitted": resubmit_process,
}
