"""What the route sweep (test_token_sweep.py) is made of: the first employer's objects and the strings
that would show its data, the tokens a caller could bring, and each OpenAPI operation made into one
concrete request (its path filled, its required query parameters and body given a plain valid-looking
value, so a route's scope check is reached rather than its 422)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from openpyxl import load_workbook
from pypdf import PdfReader

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common.security import ALGORITHM

from ..unit.webauthn_support import SoftKey
from .helpers import Api, bank_token, center_api, employer_api, person, submit_change, task_of, wait_for

A = demo.EMPLOYER_NO
ROSTERS = f"/employers/{A}/rosters"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MISSING_EMPLOYER = "999999999"
MISSING_ID = "987654321"
# The path parameters naming one object: the sweep fills them with the first employer's objects, then
# with ids that do not exist, and the other employer must not tell the two apart.
OBJECT_IDS = ("request_id", "business_id", "row_id", "claim", "import_id", "item_id", "task_id", "instance_id",
              "key_id")
SWEEP_NAME = "扫描越权甲"  # the member this module registers for the first employer
# The 补缴 this module books for the first employer: a member and a month no other test pays.
SUPPLEMENT_MEMBER = [m for m in demo.members(A) if m["status"] == "01"][-6]
SUPPLEMENT = {"member_no": SUPPLEMENT_MEMBER["member_no"], "reason": "漏缴补缴", "month": "202406", "amount": "321.09"}
CODE = re.compile(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}\b")


@dataclass
class Foreign:
    """The first employer's objects (path parameter -> id) and what in an answer would be its data."""
    ids: dict[str, str]
    business_row: str
    pending_row: str
    change_request: str
    payment_business: str = ""  # a 补缴 of the first employer, booked (the payment service's business id)
    payment_row: str = ""
    print_code: str = ""  # the verification code of a print of the first employer's account
    markers: set[str] = field(default_factory=set)

    def leaked(self, text: str) -> list[str]:
        return sorted(m for m in self.markers if m in text)


def _member_registration(employer: Api) -> tuple[str, str]:
    """One member registered through a roster (its default process has no user task): the batch's
    business id and the id of its row."""
    values = {"name": SWEEP_NAME, "id_number": person(3001), "base": "5000",
              "first_month": date.today().strftime("%Y%m"), "ratio": "12"}
    added = employer.call("POST", "member", f"{ROSTERS}/member_registration/rows", json={"values": values})
    assert added.status_code == 201, added.text
    row_id = str(added.json()["row"]["id"])
    committed = employer.call("POST", "member", f"{ROSTERS}/member_registration/commit",
                              json={"row_ids": [int(row_id)]})
    assert committed.status_code == 201, committed.text
    return str(committed.json()["business_id"]), row_id


def _import(employer: Api) -> str:
    """A small import of a registration roster, checked inline; discarded at the end (teardown)."""
    template = employer.call("GET", "member", f"{ROSTERS}/member_registration/template", params={"option": "12"})
    assert template.status_code == 200, template.text
    book = load_workbook(io.BytesIO(template.content))
    book.worksheets[0].append(["扫描导入", None, person(3002), "4000", date.today().strftime("%Y%m"), None])
    out = io.BytesIO()
    book.save(out)
    answer = employer.call("POST", "member", f"{ROSTERS}/member_registration/imports?option=12&file_name=s.xlsx",
                           content=out.getvalue(), headers={"Content-Type": XLSX})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["import"]["id"])


def _change_instance(stack: Stack, employer: Api) -> tuple[str, str, str]:
    """An employer change of the first employer with its instance and center task: its own open one if
    another test left it so, else one filed now, returned by the center and ended by the employer
    (nothing is changed, nothing is left open)."""
    current = employer.get("employer", f"/employers/{A}/change-requests/current")["request"]
    filed = current is None
    if filed:
        submitted = submit_change(employer, {"postcode": "030009"})
        assert submitted.status_code == 201, submitted.text
        current = submitted.json()["request"]
    request_id = str(current["id"])
    center = center_api(stack)

    def task() -> tuple[str, str] | None:  # the instance starts when the event reaches the workflow
        for status in ("open", "completed"):
            for row in center.get("workflow", "/tasks", status=status, business_type="employer_change",
                                  per_page=100)["items"]:
                if str(row["instance"]["business_id"]) == request_id:
                    return str(row["task"]["id"]), str(row["instance"]["id"])
        return None

    task_id, instance_id = wait_for(task, what="the change's center task")
    if filed:
        returned = center.call("POST", "workflow", f"/tasks/{task_id}/complete",
                               json={"decision": "return", "opinion": "越权扫描退回"})
        assert returned.status_code == 200, returned.text
        wait_for(lambda: employer.call("POST", "workflow", f"/instances/{instance_id}/end",
                                       json={"reason": "越权扫描结束"}).status_code == 200,
                 what="the employer ending its returned change")
    return request_id, instance_id, task_id


def _supplement(stack: Stack, employer: Api) -> tuple[str, str]:
    """A 补缴 of the first employer, paid by a bank's receipt of exactly its amount (so the unallocated
    amount ends as it began) and approved by the center: its business id and the id of its row."""
    posted = httpx.post(stack.url("payment") + "/receipts", headers={"Authorization": f"Bearer {bank_token(stack)}"},
                        json={"bank_reference": f"SWEEP-{uuid.uuid4().hex[:12]}", "employer_no": A,
                              "amount": SUPPLEMENT["amount"], "received_on": date.today().isoformat(),
                              "memo": "补缴款"}, timeout=10)
    assert posted.status_code == 201, posted.text
    roster = f"/employers/{A}/rosters/supplementary_payment"
    added = employer.call("POST", "payment", f"{roster}/rows", json={"values": SUPPLEMENT})
    assert added.status_code == 201, added.text
    row_id = str(added.json()["row"]["id"])
    committed = employer.call("POST", "payment", f"{roster}/commit", json={"row_ids": [int(row_id)]})
    assert committed.status_code == 201, committed.text
    business_id = str(committed.json()["business_id"])
    center = center_api(stack)
    task = task_of(center, "supplementary_payment", business_id)
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "越权扫描同意"})
    assert done.status_code == 200, done.text
    return business_id, row_id


def _print_code(employer: Api) -> str:
    """The verification code a print of the first employer's 单位账户信息 carries."""
    printed = employer.call("GET", "payment", f"/employers/{A}/queries/account/print")
    assert printed.status_code == 200, printed.text
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages)
    found = CODE.search(text)
    assert found, text
    return found.group(0).replace("-", "")


def altered(code: str) -> str:
    """The code with its last character changed: well formed, issued by nobody."""
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def gather_foreign(stack: Stack) -> tuple[Foreign, Api]:
    """The first employer's objects of every kind a path names, made through its API where missing."""
    employer = employer_api(stack, A)
    business_id, business_row = _member_registration(employer)
    pending = employer.call("POST", "member", f"{ROSTERS}/member_registration/rows", json={"values": {
        "name": "扫描待提交", "id_number": person(3003), "base": "5000",
        "first_month": date.today().strftime("%Y%m"), "ratio": "12"}})
    assert pending.status_code == 201, pending.text
    pending_row = str(pending.json()["row"]["id"])
    import_id = _import(employer)
    request_id, instance_id, task_id = _change_instance(stack, employer)

    def inbox_item() -> str | None:
        for box in ("message", "initiated"):
            items = employer.get("notify", f"/employers/{A}/inbox/{box}", per_page=5)["items"]
            if items:
                return str(items[0]["id"])
        return None

    item_id = wait_for(inbox_item, what="an inbox item of the first employer")
    payment_business, payment_row = _supplement(stack, employer)
    own = demo.members(A)
    foreign = Foreign(
        ids={"request_id": request_id, "business_id": business_id, "row_id": pending_row,
             "claim": own[0]["member_no"], "import_id": import_id, "item_id": item_id, "task_id": task_id,
             "instance_id": instance_id, "key_id": _security_key(stack, employer)},
        business_row=business_row, pending_row=pending_row, change_request=request_id,
        payment_business=payment_business, payment_row=payment_row, print_code=_print_code(employer))
    profile = demo.EMPLOYERS[0]
    foreign.markers |= {A, profile["name"], profile["credit_code"], profile["address"], SWEEP_NAME,
                        person(3001), person(3002), person(3003)}
    # Member names are short and shared between people: the ID numbers and member numbers (which
    # start with the employer number) say whose they are; a name counts only when nobody else has it.
    foreign.markers |= {m["id_number"] for m in own}
    others = {m["name"] for m in demo.members(demo.SECOND_EMPLOYER_NO)}
    foreign.markers |= {m["name"] for m in own if len(m["name"]) >= 3 and m["name"] not in others}
    return foreign, employer


def _security_key(stack: Stack, employer: Api) -> str:
    """A security key of the first employer's account, registered as its 安全密钥 page registers one."""
    options = employer.call("POST", "auth", "/auth/webauthn/keys/options")
    assert options.status_code == 200, options.text
    credential = SoftKey().create(options.json()["options"], origin=stack.public_url, rp_id="localhost")
    added = employer.call("POST", "auth", "/auth/webauthn/keys", json={
        "challenge_id": options.json()["challenge_id"], "credential": credential, "name": "扫描用安全密钥"})
    assert added.status_code == 201, added.text
    return str(added.json()["id"])


def clean_up(employer: Api, foreign: Foreign) -> None:
    """What the sweep left in the first employer's rosters: the pending row and the import."""
    employer.call("DELETE", "member", f"{ROSTERS}/member_registration/rows/{foreign.pending_row}")
    employer.call("POST", "member", f"/employers/{A}/imports/{foreign.ids['import_id']}/discard")


# -- tokens ------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bad_tokens(stack: Stack, genuine: str) -> dict[str, str]:
    """The first employer's own claims in tokens no service may accept: expired (signed by the hall's
    key), signed by another key, unsigned (alg none), and HS256 keyed with the hall's public key."""
    claims = jwt.decode(genuine, options={"verify_signature": False})
    now = int(time.time())
    key = (stack.var_dir / "auth_signing_key.pem").read_bytes()
    expired = jwt.encode({**claims, "iat": now - 3600, "exp": now - 600}, key, algorithm=ALGORITHM)
    live = {**claims, "iat": now, "exp": now + 600}
    other_key = jwt.encode(live, ec.generate_private_key(ec.SECP256R1()), algorithm=ALGORITHM)
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(live).encode()) + "."
    public = httpx.get(stack.url("auth") + "/auth/public-key", timeout=10)
    public_pem = (public.json().get("public_key") or public.text).encode() if public.status_code == 200 else key
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(live).encode())
    confused = head + "." + _b64(hmac.new(public_pem, head.encode(), hashlib.sha256).digest())
    return {"expired": expired, "other_key": other_key, "alg_none": unsigned, "hs256_public_key": confused}


def service_tokens(stack: Stack) -> dict[str, set[str]]:
    """The services' own tokens (deploy.prepare) and the permissions each carries."""
    found = {}
    for path in sorted((stack.var_dir / "service_tokens").glob("*.jwt")):
        token = path.read_text().strip()
        found[token] = set(jwt.decode(token, options={"verify_signature": False}).get("perms") or ())
    assert len(found) >= 2, "the stack's services have their own tokens"
    return found


# -- operations --------------------------------------------------------------------------------------

@dataclass
class Operation:
    service: str
    method: str
    template: str
    words: list[str]
    operation: dict[str, Any]
    spec: dict[str, Any]

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.template)

    def names_objects(self) -> bool:
        return any(p in OBJECT_IDS for p in self.params)

    def has(self, role: str) -> bool:
        return any(w == role or w.startswith(role + ":") for w in self.words)


def operations(stack: Stack, services: tuple[str, ...]) -> list[Operation]:
    found = []
    for service in services:
        spec = httpx.get(stack.url(service) + "/openapi.json", timeout=10).json()
        for template, item in spec["paths"].items():
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    found.append(Operation(service, method.upper(), template, list(operation.get("x-access", ())),
                                           operation, spec))
    return found


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """One plain value of the schema: what a form would send, not a fuzz."""
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind == "object":
        if depth > 3:
            return {}
        props = schema.get("properties", {})
        return {name: sample(spec, props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(spec, schema.get("items", {}), depth + 1)] if schema.get("minItems") else []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return date.today().isoformat()
    return "扫描"


def request_parts(op: Operation) -> dict[str, Any]:
    """The required query parameters and the JSON body of one plain request to the operation."""
    parts: dict[str, Any] = {}
    query = {p["name"]: sample(op.spec, p.get("schema", {})) for p in op.operation.get("parameters", [])
             if p.get("in") == "query" and p.get("required")}
    if query:
        parts["params"] = query
    content = op.operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        parts["json"] = sample(op.spec, content["application/json"].get("schema", {}))
    elif op.method != "GET":
        parts["json"] = {}
    return parts
