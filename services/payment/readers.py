"""What a payment query shows but another service owns, read at the moment it is shown: the member's
name (member service) and the employer's name (employer service). Nothing is copied into payment.

Each call is made on behalf of the operator whose query is being answered, with the operator's own
bearer token: the owning service applies its own employer and permission checks, so no service
permission is needed and another employer's members cannot be named through payment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from flask import request

from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.security import current_principal

NAMES_BATCH = 1000  # the member service's bound per call (services/member/names.py)
UNAVAILABLE = "暂时无法读取{what}，请稍后再试"


def _client(service: str) -> ServiceClient:
    header = request.headers.get("Authorization", "")
    return ServiceClient(service, token=header.removeprefix("Bearer ").strip() or None)


def member_names(employer_no: str, member_nos: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(member_nos))
    if not wanted:
        return {}
    try:
        answered = _client("member").post(f"/employers/{employer_no}/members/names", json={"member_nos": wanted})
    except ServiceError as exc:
        raise BusinessError(UNAVAILABLE.format(what="缴存人姓名"), 503) from exc
    return {item["member_no"]: item["name"] for item in answered}


def with_names(employer_no: str, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows with their member's ``name``, asked for a batch of rows at a time (an export streams)."""
    source = iter(rows)
    while batch := list(islice(source, NAMES_BATCH)):
        names = member_names(employer_no, (row["member_no"] for row in batch))
        for row in batch:
            yield {**row, "name": names.get(row["member_no"], "")}


def employer_name(employer_no: str) -> str:
    """The employer's registered name: an employer's own token states it; a center user's query asks
    the employer service."""
    principal = current_principal()
    if principal.role == "employer" and principal.employer_name:
        return principal.employer_name
    try:
        profile = _client("employer").get(f"/employers/{employer_no}")
    except ServiceError as exc:
        raise BusinessError(UNAVAILABLE.format(what="单位信息"), 503) from exc
    return str(profile.get("name", ""))
