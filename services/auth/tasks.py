"""Events this service consumes beyond the common ones (session revocation)."""

from __future__ import annotations

from typing import Any

from hall_common.runtime import Handler

from . import closures, sessions


def on_employer_closed(event: dict[str, Any]) -> None:
    """零余额销户 applied: the employer's accounts query only from now on, their live sessions end."""
    accounts = closures.record_closed(str(event["data"]["employer_no"]), str(event["id"]))
    sessions.end_sessions(accounts, "employer_closed")


HANDLERS: dict[str, Handler] = {"employer.closed": on_employer_closed}
