"""The calls of the route sweep (test_token_sweep.py): an operation's path with the first employer's
objects or with ids that exist nowhere, and the client that checks every answer as it comes."""

from __future__ import annotations

import re
from datetime import date

import httpx

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common import verify

from .sweep_support import MISSING_EMPLOYER, MISSING_ID, OBJECT_IDS, Foreign, Operation, altered, request_parts

A = demo.EMPLOYER_NO
VERIFY = "/verifications/{code}"
STATEMENT = {A, demo.EMPLOYERS[0]["name"]}  # what a print's verification shows: whose it is
DOCUMENT_KEYS = {"code", "employer_no", "employer_name", "kind", "period", "totals", "issued_at"}
BUSINESS_TYPES = {"employer": "employer_change", "member": "member_registration", "workflow": "member_registration",
                  "payment": "supplementary_payment"}


def path_of(op: Operation, foreign: Foreign, employer_no: str, objects: str) -> str:
    """The operation's path for this employer number, with the first employer's objects ("foreign")
    or ids that exist nowhere ("missing")."""
    business_type = BUSINESS_TYPES.get(op.service, "employer_change")
    ids = dict(foreign.ids)
    if op.service == "employer":
        ids["business_id"] = foreign.change_request
    if op.service == "payment":  # a booked 补缴 of the first employer
        ids["business_id"] = foreign.payment_business
    if "/businesses/{business_id}/rows/{row_id}" in op.template:
        ids["row_id"] = foreign.payment_row if op.service == "payment" else foreign.business_row
    if "by-claim" in op.template:
        business_type = "base_adjustment" if op.service == "member" else business_type
    values = {"employer_no": employer_no, "business_type": business_type, "box": "message", "login_name": A,
              "year": str(date.today().year - 1), "process_key": "employer_change",
              "code": foreign.print_code if objects == "foreign" else altered(foreign.print_code)}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in OBJECT_IDS:
            return ids[name] if objects == "foreign" else (MISSING_ID if name != "claim" else "S" + MISSING_ID)
        return values.get(name, "1")

    return re.sub(r"\{(\w+)\}", value, op.template)


class Sweep:
    """One shared client; every answer checked as it comes, the failures gathered for one report."""

    def __init__(self, stack: Stack, foreign: Foreign) -> None:
        self.stack, self.foreign = stack, foreign
        self.client = httpx.Client(timeout=15)
        self.failures: list[str] = []
        self.requests = 0

    def call(self, op: Operation, path: str, token: str | None, what: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        parts = request_parts(op)
        if op.service == "member" and "by-claim" in op.template:
            # The batch-edit grid's row of a member: the member in the body is the one its path claims.
            parts["json"] = {"values": {"member_no": path.rsplit("/", 1)[1], "category": "base", "base": "5000",
                                        "effective_month": date.today().strftime("%Y%m")}}
        answer = self.client.request(op.method, self.stack.url(op.service) + path, headers=headers, **parts)
        self.requests += 1
        where = f"{what}: {op.method} {op.service}{path}"
        if answer.status_code >= 500:
            self.failures.append(f"{where} answered {answer.status_code}: {answer.text[:200]}")
        # A print's verification code is its own proof: its public route may name the print's employer.
        shown = STATEMENT if op.template.endswith(VERIFY) and self.foreign.print_code in path else set()
        leaked = sorted(set(self.foreign.leaked(answer.text)) - shown)
        if leaked:
            self.failures.append(f"{where} carries the first employer's {leaked[:3]}: {answer.text[:200]}")
        return answer

    def expect(self, answer: httpx.Response, status: int, message: str | None, where: str) -> None:
        got = (answer.status_code, _message(answer))
        if answer.status_code != status or (message is not None and got[1] != message):
            self.failures.append(f"{where}: expected {status} {message or ''}, got {got}")

    def same(self, foreign: httpx.Response, missing: httpx.Response, where: str) -> None:
        if _shape(foreign, self.foreign) != _shape(missing, self.foreign):
            self.failures.append(f"{where}: another employer's object answers {_shape(foreign, self.foreign)}, "
                                 f"one that does not exist {_shape(missing, self.foreign)}")


def check_verification(sweep: Sweep, op: Operation, answer: httpx.Response, altered_path: str, token: str) -> None:
    """A real print's code: the service that issued it shows the document's statement and nothing more,
    the others know no such code; the code altered by one character is issued by nobody."""
    where = f"verification: {op.service}{op.template}"
    nobody = sweep.call(op, altered_path, token, "altered code")
    sweep.expect(nobody, 404, verify.NOT_FOUND, where + " (altered code)")
    if op.service != verify.ISSUERS[sweep.foreign.print_code[0]]:
        sweep.same(answer, nobody, where)
        return
    body = answer.json() if answer.status_code == 200 else {}
    if set(body) != DOCUMENT_KEYS or body.get("employer_no") != A or body.get("kind") != "单位账户信息":
        sweep.failures.append(f"{where}: the print's code answered {answer.status_code} {answer.text[:200]}")


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.headers.get("content-type", "")
    return str(body.get("message", "")) if isinstance(body, dict) else type(body).__name__


def _shape(answer: httpx.Response, foreign: Foreign) -> tuple[int, str]:
    """Status and message, with the ids asked about put out of the way (a message may repeat its id)."""
    text = _message(answer)
    for value in [*foreign.ids.values(), foreign.business_row, foreign.payment_business, foreign.payment_row,
                  MISSING_ID, A, MISSING_EMPLOYER]:
        text = text.replace(value, "<id>")
    return answer.status_code, text
