"""The catalog of event data: for every type in ``events.ROUTES`` its fields, a JSON Schema, a version,
an example and the text docs/events.md shows. Each field is declared once (``FIELDS``) and an event
names the fields it carries, so a schema, its example and the documentation cannot disagree.

The downstream stream (hall_common/downstream.py) publishes each event with the schema's URN and
version; docs/events.md's tables are generated from here (``python -m hall_common.event_docs``) and a
test fails when they differ. A change that removes or retypes a field, or makes one required, raises
the type's ``version``; adding an optional field does not (readers ignore fields they do not know).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PREFIX = "urn:hall:event-schema:"

_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_INT = {"type": "integer", "minimum": 0}
_DATE = {"type": "string", "format": "date"}
_CHANGES = {"type": "array", "items": {"type": "object", "required": ["field", "label", "old", "new"],
                                       "properties": {"field": _STR, "label": _STR,
                                                      "old": _OPT_STR, "new": _OPT_STR}}}


@dataclass(frozen=True)
class Field:
    schema: dict[str, Any]
    example: Any


FIELDS: dict[str, Field] = {
    "business_type": Field(_STR, "member_registration"),
    "business_id": Field(_STR, "42"),
    "owner": Field(_STR, "member"),
    "title": Field(_STR, "个人开户"),
    "permission": Field(_STR, "member.register"),
    "employer_no": Field(_STR, "100100000001"),
    "employer_name": Field(_STR, "太原市示例科技有限公司"),
    "initiator": Field(_STR, "王晓燕"),
    "initiator_login": Field(_STR, "100100000001"),
    "summary": Field(_STR, "3人"),
    "row_count": Field(_INT, 3),
    "variables": Field({"type": "object"}, {"row_count": 3}),
    "instance_id": Field(_INT, 7),
    "seq": Field({"type": "integer", "minimum": 1}, 4),
    "approver": Field(_OPT_STR, "中心审核员李明"),
    "opinion": Field(_OPT_STR, "同意"),
    "by": Field({"enum": ["employer", "center"]}, "employer"),
    "reason": Field(_OPT_STR, "单位撤回"),
    "at": Field({"type": "string", "format": "date-time"}, "2026-12-03T06:00:00.000Z"),
    "task_id": Field(_INT, 11),
    "task_name": Field(_STR, "中心审核"),
    "candidate_group": Field(_OPT_STR, "reviewer"),
    "handler": Field(_OPT_STR, "中心审核员李明"),
    "decision": Field({"enum": ["approve", "reject", "return"]}, "approve"),
    "outcome": Field({"enum": ["approved", "rejected"]}, "approved"),
    "changes": Field(_CHANGES, [{"field": "contact_phone", "label": "联系电话",
                                 "old": "0351-1234567", "new": "0351-7654321"}]),
    "operator": Field(_OPT_STR, "王晓燕"),
    "member_no": Field(_STR, "200100000001"),
    "member_name": Field(_STR, "张三"),
    "applied": Field(_INT, 3),
    "amount": Field({"type": "string", "pattern": r"^-?[0-9,]+\.[0-9]{2}$"}, "1,200.00"),
    "serial_no": Field(_STR, "JZ202612030001"),
    "bank_reference": Field(_STR, "ICBC202612030000123"),
    "received_on": Field(_DATE, "2026-12-02"),
    "booked_on": Field(_DATE, "2026-12-03"),
    "month": Field({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"}, "2026-11"),
    "interest_year": Field({"type": "integer", "minimum": 2000}, 2026),
    "headcount": Field(_INT, 25),
    "token_id": Field(_STR, "3f6c0b1e9d2a4c5b"),
    "login_name": Field(_STR, "100100000001"),
    "expires_at": Field({"type": "string", "format": "date-time"}, "2026-12-03T14:00:00+00:00"),
}


@dataclass(frozen=True)
class EventSpec:
    emitted_by: str
    required: tuple[str, ...]
    doc: str  # the data column of docs/events.md (Markdown)
    optional: tuple[str, ...] = ()
    version: int = 1
    # False: kept inside the hall (not on the downstream stream); ``doc`` says why.
    downstream: bool = True


_SUBMISSION = ("business_type", "business_id", "owner", "title", "permission", "employer_no", "employer_name",
               "initiator", "initiator_login", "summary", "row_count", "variables")
_OWNER = ("business_type", "business_id", "owner", "employer_no", "instance_id", "seq")
_PROCESS = ("instance_id", "seq", "business_type", "business_id", "title", "permission", "employer_no",
            "employer_name", "initiator", "initiator_login", "at")
_CHANGE = ("employer_no", "employer_name", "business_type", "business_id", "title", "changes", "summary",
           "operator", "approver", "opinion")
_ROSTER = ("employer_no", "employer_name", "business_type", "business_id", "title", "summary", "row_count",
           "applied", "operator", "approver", "opinion")
_SUPPLEMENT = (*_ROSTER, "amount")
_COMMON = "the common fields"

CATALOG: dict[str, EventSpec] = {
    "business.submitted": EventSpec("the owning service (now: employer, member, payment)", _SUBMISSION, (
        "`business_type`, `business_id`, `owner`, `title`, `permission` (the employer permission needed to "
        "act on the business, from `hall_common/business_types.py`; stored on the instance), `employer_no`, "
        "`employer_name`, `initiator` (the operator's display name), `initiator_login` (the operator's login "
        "name), `summary` (one line for the approver, at most 200 characters), `row_count`, `variables` (only "
        "what the BPMN gateways decide on: text, integers, booleans, at most 256 bytes). Never the rows: the "
        "center's task page reads them from the owner")),
    "business.approved": EventSpec("workflow", (*_OWNER, "approver", "opinion"), (
        "`business_type`, `business_id`, `owner`, `employer_no`, `instance_id`, `seq` (the instance's event "
        "number, one sequence with its `process.*` / `task.*` events), `approver`, `opinion`")),
    "business.rejected": EventSpec("workflow", (*_OWNER, "approver", "opinion"), "as `business.approved`"),
    "business.returned": EventSpec("workflow", (*_OWNER, "approver", "opinion"), (
        "`business_type`, `business_id`, `owner`, `employer_no`, `instance_id`, `seq`, `approver`, `opinion` "
        "(the return opinion). The owner moves the business `in_approval` -> `returned` (conditional update), "
        "keeping its data for the employer to correct")),
    "business.ended": EventSpec("workflow", (*_OWNER, "by", "reason"), (
        "`business_type`, `business_id`, `owner`, `employer_no`, `instance_id`, `seq`, `by` (`employer`: "
        "结束流程; `center`: terminated), `reason`. The owner discards the business (status `ended`); it may "
        "be submitted again")),
    "business.resubmitted": EventSpec("the owning service", _SUBMISSION, (
        "as `business.submitted` (`summary`, `row_count`, `variables` recomputed from the corrected business). "
        "Emitted in the transaction that replaced the business's data and moved it `returned` -> "
        "`in_approval`; the workflow resumes the same instance at its first user task")),
    "process.started": EventSpec("workflow", (*_PROCESS, "summary"), (
        "`instance_id`, `seq`, `business_type`, `business_id`, `title`, `permission` (the employer permission "
        "the instance was started with), `employer_no`, `employer_name`, `initiator`, `initiator_login` (of "
        "the submission that started the instance), `at` (ISO time) (the fields every `process.*` / `task.*` "
        "event carries), `summary`")),
    "task.created": EventSpec("workflow", (*_PROCESS, "task_id", "task_name", "candidate_group"),
                              f"{_COMMON}, `task_id`, `task_name`, `candidate_group`"),
    "task.claimed": EventSpec("workflow", (*_PROCESS, "task_id", "task_name", "handler"),
                              f"{_COMMON}, `task_id`, `task_name`, `handler`"),
    "task.completed": EventSpec("workflow", (*_PROCESS, "task_id", "task_name", "handler", "decision", "opinion"),
                                f"{_COMMON}, `task_id`, `task_name`, `handler`, `decision` "
                                "(`approve`/`reject`/`return`), `opinion`"),
    "process.returned": EventSpec("workflow", (*_PROCESS, "task_name", "handler", "opinion"),
                                  f"{_COMMON}, `task_name`, `handler`, `opinion`"),
    "process.resubmitted": EventSpec("workflow", (*_PROCESS, "summary"),
                                     f"{_COMMON}, `summary` (of the corrected business)"),
    "process.ended": EventSpec("workflow", (*_PROCESS, "by", "reason"),
                               f"{_COMMON}, `by` (`employer` or `center`), `reason`"),
    "process.completed": EventSpec("workflow", (*_PROCESS, "outcome", "approver", "opinion"),
                                   f"{_COMMON}, `outcome` (`approved`/`rejected`), `approver`, `opinion`"),
    "employer.info_changed": EventSpec("employer", _CHANGE, (
        "`employer_no`, `employer_name`, `business_type`, `business_id`, `title`, `changes` (`field`, `label`, "
        "`old`, `new`), `summary` (the changed items' labels, what the message's reference names), `operator`, "
        "`approver`, `opinion`")),
    "employer.info_change_rejected": EventSpec("employer", _CHANGE, "as above, with the requested `changes`"),
    "employer.closed": EventSpec("employer", _CHANGE, (
        "as `employer.info_changed` (`business_type` `zero_balance_closure`, one row: 单位账户状态 -> `04 销户`). "
        "Auth ends the employer's sessions and lets its accounts query only from then on")),
    "employer.closure_rejected": EventSpec("employer", _CHANGE, (
        "as above: rejected by the center, or refused when applied because the closure's conditions no longer "
        "held (`opinion` names what blocks it: the balance, the unallocated amount, the members holding money, "
        "the businesses in approval)")),
    "member.registered": EventSpec("member", _ROSTER, (
        "`employer_no`, `employer_name`, `business_type` (`member_registration`), `business_id`, `title`, "
        "`summary` (`<n>人`), `row_count` (rows committed), `applied` (members opened; a row whose ID was opened "
        "meanwhile is not), `operator`, `approver`, `opinion`. The members themselves: "
        "`GET /businesses/member_registration/<business_id>` on the member service (each row with its new "
        "`member_no`)")),
    "member.sealed": EventSpec("member", _ROSTER, (
        "as `member.registered`, `business_type` `member_seal`; `applied` members moved 正常 -> 封存")),
    "member.unsealed": EventSpec("member", _ROSTER, (
        "as `member.registered`, `business_type` `member_unseal`; `applied` members moved 封存 -> 正常")),
    "member.info_changed": EventSpec("member", (*_CHANGE, "member_no", "member_name"), (
        "as `employer.info_changed` (`business_type` `member_change`; coded values named, `\"21 本科\"`), with "
        "`member_no` and `member_name`; each row is also in 12.2's history")),
    "member.info_change_rejected": EventSpec("member", (*_CHANGE, "member_no", "member_name"),
                                             "as above, with the requested `changes`"),
    "member.base_adjusted": EventSpec("member", _ROSTER, (
        "as `member.registered`, `business_type` `base_adjustment`; `applied` members given their new base, "
        "ratios and monthly amount (a row whose member left 正常 meanwhile is not)")),
    "payment.supplemented": EventSpec("payment", (*_SUPPLEMENT, "serial_no"), (
        "`employer_no`, `employer_name`, `business_type` (`supplementary_payment`), `business_id`, `title`, "
        "`summary` (`<n>笔`), `row_count`, `applied` (rows booked), `amount` (the total taken from the "
        "unallocated amount), `serial_no` (the type-02 journal entry), `operator`, `approver`, `opinion`. The "
        "rows: `GET /businesses/supplementary_payment/<business_id>` on the payment service")),
    "payment.supplement_failed": EventSpec("payment", (*_SUPPLEMENT, "reason"), (
        "as `payment.supplemented` without `serial_no`, `applied` 0, `amount` the total needed and `reason` "
        "(`未分配金额不足：需X元，现有Y元，差额Z元`): approved, but the unallocated amount no longer covered it, "
        "so nothing was booked; the message kind `failed`")),
    "payment.receipt_booked": EventSpec("payment", (
        "employer_no", "bank_reference", "amount", "received_on", "booked_on"), (
        "`employer_no`, `bank_reference` (the bank's, unique: posted again it is not booked again), `amount`, "
        "`received_on` (the bank's date), `booked_on` (the day the hall booked it to the unallocated amount). "
        "Any bill it paid follows as `payment.remittance_paid`")),
    "payment.remittance_paid": EventSpec("payment", (
        "employer_no", "month", "amount", "headcount", "serial_no", "booked_on"), (
        "`employer_no`, `month` (the bill's, `YYYY-MM`), `amount`, `headcount` (members on the bill), "
        "`serial_no` (the type-01 journal entry), `booked_on`: a monthly bill paid from the unallocated amount, "
        "oldest first. The lines: 7.1's journal detail on the payment service")),
    "payment.interest_settled": EventSpec("payment", (
        "employer_no", "interest_year", "amount", "headcount", "serial_no", "booked_on"), (
        "`employer_no`, `interest_year` (the year ending 30 June of it), `amount` (the employer's members' "
        "interest), `headcount` (members credited), `serial_no` (the interest journal entry), `booked_on` "
        "(30 June): one per employer with interest when the center's 结息 run books it")),
    "auth.session_revoked": EventSpec("auth", ("token_id", "login_name", "expires_at"), (
        "`token_id` (a session id, the `sid` of all its access tokens; or one token's `jti`), `login_name`, "
        "`expires_at` (no token of it lives longer): refused from then on. Emitted on logout (employer and "
        "center), idle or expired sessions, when an account's permissions change or its UKey is unbound, and "
        "when the center withdraws a service token (`token_id` its `jti`, `login_name` the system's name, "
        "`expires_at` the token's own expiry; the services answer it 401 `服务令牌已撤销，请联系中心重新签发`). "
        "Not downstream: a security signal between the hall's own services, naming sessions"),
        downstream=False),
}


def spec(type_: str) -> EventSpec:
    return CATALOG[type_]


def schema_uri(type_: str) -> str:
    return f"{SCHEMA_PREFIX}{type_}:{CATALOG[type_].version}"


def data_schema(type_: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the event's ``data``; fields it does not name are allowed."""
    entry = CATALOG[type_]
    names = (*entry.required, *entry.optional)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": schema_uri(type_),
        "title": type_,
        "type": "object",
        "required": list(entry.required),
        "properties": {name: FIELDS[name].schema for name in names},
    }


def example(type_: str) -> dict[str, Any]:
    entry = CATALOG[type_]
    return {name: FIELDS[name].example for name in (*entry.required, *entry.optional)}


def downstream_types() -> list[str]:
    return [type_ for type_, entry in CATALOG.items() if entry.downstream]


@lru_cache(maxsize=128)
def _validator(type_: str, version: int) -> Any:
    import jsonschema_rs  # the tests' and tools' need only: the hall does not validate at run time

    return jsonschema_rs.validator_for(data_schema(type_))


def problems(event: dict[str, Any]) -> list[str]:
    """What makes an emitted event disagree with the catalog: an unknown type, data failing the type's
    schema, or a field the catalog does not name (the tests check every event they see; the schemas
    themselves stay open so that readers survive a new optional field)."""
    type_ = event.get("type", "")
    if type_ not in CATALOG:
        return [f"{type_!r} is not in the event catalog"]
    data = event.get("data")
    found = [f"{type_}: {error.message}" for error in _validator(type_, CATALOG[type_].version).iter_errors(data)]
    entry = CATALOG[type_]
    extra = sorted(set(data) - {*entry.required, *entry.optional}) if isinstance(data, dict) else []
    return found + [f"{type_}: {name!r} is not in the catalog" for name in extra]
