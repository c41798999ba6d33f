"""零余额销户 (zero-balance closure): the employer's account is closed once nothing is left in it.

Allowed only when the account's balance and unallocated amount are zero, no member is in a status that
still holds money (正常, 封存, 冻结) and no other business is in approval (DOMAIN.md). Each of those
figures has its owner (payment, member, workflow): this service asks them with its own service token
(permission ``closure_check``) when the page is opened, when the operator submits, and again when the
approved closure is applied, since money or members may have moved while it was in approval: then the
closure is refused with what blocks it, and nothing is closed.

The business itself is a configuration of the change roster (hall_common.change_roster): one row, 单位账户
状态 -> 04 销户, with its own pending slot, returns and 结束流程. Once applied, ``employer.closed`` tells the
auth service, which ends the employer's sessions and from then on lets its accounts query only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select

from hall_common import business_types, db
from hall_common.change_roster import ChangeField, ChangeRoster
from hall_common.client import ServiceClient, ServiceError, gather
from hall_common.errors import BusinessError
from hall_common.outbox import emit
from hall_common.security import Principal
from hall_common.service_tokens import own_token

from .fields import STATUS_NAMES
from .models import ClosureRequest, Employer
from .services import BUSINESSES, display_value, get_employer

BUSINESS_TYPE = "zero_balance_closure"
BUSINESS_TITLE = business_types.resolve(BUSINESS_TYPE).title
PENDING_MESSAGE = "存在未审批完成的零余额销户业务"
CLOSED = "04"
# Member account statuses that still hold money (DOMAIN.md): 正常, 封存, 冻结.
HOLDING_STATUSES = {"01": "正常", "02": "封存", "06": "冻结"}
NAMES_SHOWN = 10  # members / businesses named per blocker; the rest are counted
STATUS_FIELD = ChangeField("status", "单位账户状态", True, choices={CLOSED: STATUS_NAMES[CLOSED]})
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Blocker:
    kind: str  # balance | unallocated | members | businesses
    text: str


def blockers(employer_no: str, skip: tuple[str, str] | None = None) -> list[Blocker]:
    """What stops the employer's closure now, each named (amounts, members, businesses); [] if nothing.
    ``skip``: the closure's own (business_type, business_id), in approval itself when it is applied."""
    token = own_token("employer")
    payment, member, workflow = (ServiceClient(name, token) for name in ("payment", "member", "workflow"))
    account, members, businesses = gather(
        partial(_account, payment, employer_no),
        partial(member.get, f"/employers/{employer_no}/members", per_page=NAMES_SHOWN, status="01"),
        partial(workflow.get, f"/employers/{employer_no}/open-businesses", per_page=NAMES_SHOWN + 1),
    )
    found: list[Blocker] = []
    balance, unallocated = Decimal(account["balance"]), Decimal(account["unallocated"])
    if balance != ZERO:
        found.append(Blocker("balance", f"单位账户余额为{balance:,.2f}元，不为零"))
    if unallocated != ZERO:
        found.append(Blocker("unallocated", f"未分配金额为{unallocated:,.2f}元，不为零"))
    counts: dict[str, int] = members["status_counts"]
    for code, name in HOLDING_STATUSES.items():
        count = counts.get(code, 0)
        if count:
            page = members if code == "01" else member.get(f"/employers/{employer_no}/members",
                                                            per_page=NAMES_SHOWN, status=code)
            named = "、".join(f"{row['member']['name']}（{row['member']['member_no']}）" for row in page["items"])
            more = "等" if count > len(page["items"]) else ""
            found.append(Blocker("members", f"{name}状态的缴存人{count}人：{named}{more}"))
    open_ = [b for b in businesses["items"] if skip is None or (b["business_type"], b["business_id"]) != skip]
    total = businesses["total"] - (len(businesses["items"]) - len(open_))
    if total:
        named = "、".join(f"{b['title']}（业务编号{b['business_id']}）" for b in open_[:NAMES_SHOWN])
        found.append(Blocker("businesses", f"审批中的业务{total}笔：{named}{'等' if total > NAMES_SHOWN else ''}"))
    return found


def _account(payment: ServiceClient, employer_no: str) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = payment.get(f"/employers/{employer_no}/account")
    except ServiceError as exc:
        if exc.status != 404:
            raise
        return {"balance": "0.00", "unallocated": "0.00"}  # no account was ever opened: nothing in it
    return answer


def check(employer_no: str) -> dict[str, Any]:
    """The closure page: the employer's status, its pending or last request, and what blocks it."""
    employer = get_employer(employer_no)
    request = CLOSURE.pending(employer_no) or _last(employer_no)
    closed = employer.status == CLOSED
    found = [] if closed or (request is not None and request.status in ("in_approval", "returned")) \
        else blockers(employer_no)
    return {"employer_no": employer_no, "employer_name": employer.name, "status": display_value(employer, "status"),
            "closed": closed, "blockers": [b.__dict__ for b in found], "allowed": not closed and not found
            and CLOSURE.pending_id(employer_no) is None, "request": request}


def _last(employer_no: str) -> ClosureRequest | None:
    return db.session().scalar(select(ClosureRequest).where(ClosureRequest.employer_no == employer_no)
                               .order_by(ClosureRequest.id.desc()).limit(1))


def submit(principal: Principal, employer_no: str) -> ClosureRequest:
    employer = get_employer(employer_no)
    if employer.status == CLOSED:
        raise BusinessError("单位账户已销户", 409)
    if CLOSURE.pending_id(employer_no) is not None:
        raise BusinessError(PENDING_MESSAGE, 409)
    found = blockers(employer_no)
    if found:
        raise BusinessError("不满足零余额销户条件：" + "；".join(b.text for b in found), 422,
                            {"blockers": [b.__dict__ for b in found]})
    request: ClosureRequest = CLOSURE.submit(principal, employer, [{"field": "status", "value": CLOSED}],
                                             employer_no=employer_no, employer_name=employer.name)
    return request


def _refusal(request: ClosureRequest) -> str | None:
    found = blockers(request.employer_no, skip=(BUSINESS_TYPE, str(request.id)))
    return ("销户条件已不满足：" + "；".join(b.text for b in found)) if found else None


def _closed(request: ClosureRequest, employer: Employer, applied: list[dict[str, str]]) -> None:
    emit(db.session(), "employer.closed", CLOSURE.event_data(request, employer.name, applied, BUSINESS_TITLE),
         subject=CLOSURE.subject(request))


def _refused(request: ClosureRequest, employer: Employer) -> None:
    emit(db.session(), "employer.closure_rejected",
         CLOSURE.event_data(request, employer.name, request.changes, BUSINESS_TITLE), subject=CLOSURE.subject(request))


CLOSURE = ChangeRoster(
    business_type=BUSINESS_TYPE, registry=BUSINESSES, model=ClosureRequest, fields=(STATUS_FIELD,),
    pending_message=PENDING_MESSAGE, slot="employer_no", target=lambda request: get_employer(request.employer_no),
    current=display_value, on_applied=_closed, on_rejected=_refused, refusal=_refusal, rows_caption="销户申请",
)
CLOSURE.register()
