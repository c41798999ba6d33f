"""The members of a 补缴 roster's rows, as the member service (their owner) has them now.

Asked with this service's own token (permission ``member_read``): a row is checked inside an import's
heavy job as well as in a request, and neither may lean on the operator's session. Names and ID numbers
are read for the check and the echo; the member service stays their owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.roster import chunks
from hall_common.service_tokens import own_token

LOOKUP_MAX = 2000  # the member service's bound per call
UNAVAILABLE = "暂时无法核对缴存人信息，请稍后重试"


def members(employer_no: str, member_nos: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{member_no: {name, id_number, status, status_name, first_month}} of the employer's members among
    these numbers; a number of another employer (or of none) is absent."""
    listed = sorted(set(member_nos))
    if not listed:
        return {}
    client = ServiceClient("member", own_token("payment"))
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(listed, LOOKUP_MAX):
        try:
            answer = client.post(f"/employers/{employer_no}/members/lookup", {"member_nos": list(part)})
        except ServiceError as exc:
            raise BusinessError(UNAVAILABLE, 503) from exc
        found.update((m["member_no"], m) for m in answer["items"])
    return found
