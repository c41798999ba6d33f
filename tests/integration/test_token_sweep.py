"""The sweep of every route (issue 20, point 3) on the running stack: every operation of every service's
OpenAPI document is called with the first employer's ids and employer number in its path, by

- another employer's session (a clean employer holding every employer permission, so each route's own
  scope check is reached, not a missing permission): refused, and its answer (status and message) is
  the answer to an employer number or object id that does not exist; the same with the other
  employer's own number and the first employer's object ids (objects of another employer are missing);
- no token, an expired one (the first employer's claims, signed by the hall), a forged one (its
  claims signed by another key, unsigned with alg none, HS256 keyed with the hall's public key): 401;
- a service's own token, on every route not declared for it: 403;
- a center session on the routes for employers only, and an employer's on the center's: 403;

and no answer carries the first employer's data (its number, name, credit code, address, its members'
ID numbers and names, the objects made here). Routes are read from the documents, so a new route is
swept without being added here. Every gateway page of the gateway's url_map is swept too: without a
session, with a cookie signed by another key and with an altered one (each answers as no session), a
center session in the employers' hall and an employer's in the console (as no session), and the other
employer's session on every GET page with the first employer's ids (as ids that do not exist). The
pages' POSTs need the session's CSRF token and are swept without a session only; the services under
them are swept above.

Echo of the request: an answer to another employer's session or to a bad token never repeats the
employer number it was asked about (the refusals do not name it); the only route allowed to answer
with the first employer's data to a stranger is a public one that carries its own proof (the print's
verification code, which is not swept with a real code here).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import httpx
import jwt
import pytest
from flask import Flask

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack
from gateway.session import CENTER_KEY, EMPLOYER_KEY
from hall_common.access import EMPLOYER_ONLY, NO_RIGHT
from hall_common.settings import SERVICES

from ..reliability import Recorder
from .helpers import Api, add_clean_employer, center_api, employer_api
from .sweep_support import (
    MISSING_EMPLOYER,
    MISSING_ID,
    OBJECT_IDS,
    Foreign,
    Operation,
    bad_tokens,
    clean_up,
    gather_foreign,
    operations,
    request_parts,
    service_tokens,
)

pytestmark = pytest.mark.integration

A = demo.EMPLOYER_NO
OTHER, OTHER_NAME = "100100033", "太原市越权演练商贸有限公司"
# The routes the other employer's session is not sent to, on purpose: they act on the caller's own
# session (ending it, changing its password), name no employer and no object.
OWN_SESSION = {("POST", "/auth/logout"), ("POST", "/auth/password")}
BUSINESS_TYPES = {"employer": "employer_change", "member": "member_registration", "workflow": "member_registration",
                  "payment": "supplementary_payment"}


@pytest.fixture(scope="module")
def foreign(stack: Stack) -> Iterator[Foreign]:
    found, employer = gather_foreign(stack)
    yield found
    clean_up(employer, found)


@pytest.fixture(scope="module")
def other(stack: Stack) -> Api:
    add_clean_employer(stack, OTHER, OTHER_NAME, "91140100MA0K00033X")
    return employer_api(stack, OTHER, OTHER)


def path_of(op: Operation, foreign: Foreign, employer_no: str, objects: str) -> str:
    """The operation's path for this employer number, with the first employer's objects ("foreign")
    or ids that exist nowhere ("missing")."""
    business_type = BUSINESS_TYPES.get(op.service, "employer_change")
    ids = dict(foreign.ids)
    if op.service == "employer":
        ids["business_id"] = foreign.change_request
    if "/businesses/{business_id}/rows/{row_id}" in op.template:
        ids["row_id"] = foreign.business_row
    if "by-claim" in op.template:
        business_type = "base_adjustment" if op.service == "member" else business_type
    values = {"employer_no": employer_no, "business_type": business_type, "box": "message", "login_name": A,
              "year": str(date.today().year - 1), "process_key": "employer_change", "code": "sweep-nobody"}

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
        leaked = self.foreign.leaked(answer.text)
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


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.headers.get("content-type", "")
    return str(body.get("message", "")) if isinstance(body, dict) else type(body).__name__


def _shape(answer: httpx.Response, foreign: Foreign) -> tuple[int, str]:
    """Status and message, with the ids asked about put out of the way (a message may repeat its id)."""
    text = _message(answer)
    for value in [*foreign.ids.values(), foreign.business_row, MISSING_ID, A, MISSING_EMPLOYER]:
        text = text.replace(value, "<id>")
    return answer.status_code, text


def test_every_operation_refuses_strangers_and_tells_no_other_employers_data(
        stack: Stack, foreign: Foreign, other: Api, reliability_report: Recorder) -> None:
    """Every operation of every service's OpenAPI, with the first employer's number and object ids in
    its path, called with another employer's session, no token, an expired one, forged ones (another
    key, alg none, HS256 keyed with the public key), each service's own token, a center token on
    employer routes and the employer's on center routes: no 5xx, no answer carrying the first
    employer's data, its objects answering exactly as ids that do not exist."""
    started = time.monotonic()
    ops = operations(stack, SERVICES)
    assert len(ops) >= 150, "every service's document was read"
    documented = {(op.method, op.template) for op in ops}
    assert documented >= OWN_SESSION, "the deliberate exceptions are routes that exist"
    sweep = Sweep(stack, foreign)
    own = employer_api(stack, A)
    center = center_api(stack)
    bad = bad_tokens(stack, own.token)
    services_own = service_tokens(stack)
    counts = {"other_employer": 0, "bad_token": 0, "service": 0, "center": 0, "employer_on_center": 0}
    for op in ops:
        public, employer_route, center_route = op.has("public"), op.has("employer"), op.has("center")
        for_anyone_signed_in = op.has("signed_in")
        foreign_path = path_of(op, foreign, A, "foreign")

        # Another employer's session: the first employer's number and objects are refused as missing.
        if (op.method, op.template) not in OWN_SESSION:
            counts["other_employer"] += 1
            answer = sweep.call(op, foreign_path, other.token, "other employer")
            if "{employer_no}" in op.template or op.names_objects():
                where = f"other employer: {op.method} {op.service}{op.template}"
                missing = sweep.call(op, path_of(op, foreign, MISSING_EMPLOYER, "missing"), other.token,
                                     "other employer, nothing")
                sweep.same(answer, missing, where)
                if "{employer_no}" in op.template and not public and answer.status_code < 400:
                    sweep.failures.append(f"{where}: the first employer's number answered {answer.status_code}")
                if "{employer_no}" in op.template and op.names_objects():
                    in_own = sweep.call(op, path_of(op, foreign, OTHER, "foreign"), other.token, "other employer, own")
                    nothing = sweep.call(op, path_of(op, foreign, OTHER, "missing"), other.token,
                                         "other employer, own, nothing")
                    sweep.same(in_own, nothing, where + " (under its own number)")
            if not (public or employer_route or for_anyone_signed_in):
                sweep.expect(answer, 403, NO_RIGHT, f"other employer on a center route {op.template}")

        # No token, and tokens no service may accept, with the first employer's own claims.
        for kind, token in [("no token", None), *bad.items()]:
            counts["bad_token"] += 1
            answer = sweep.call(op, foreign_path, token, kind)
            if not public:
                sweep.expect(answer, 401, None, f"{kind}: {op.method} {op.service}{op.template}")

        # A service's own token where the route does not admit that service's permissions.
        held = {w.partition(":")[2] for w in op.words if w.startswith("service:")}
        token = next((t for t, perms in services_own.items() if not perms & held), None)
        if token is not None:
            counts["service"] += 1
            answer = sweep.call(op, foreign_path, token, "service token")
            if not public:
                sweep.expect(answer, 403, NO_RIGHT, f"service token: {op.method} {op.service}{op.template}")

        # The center where only an employer's operator may act, and an employer where only the center may.
        if employer_route and not (center_route or public or for_anyone_signed_in):
            counts["center"] += 1
            answer = sweep.call(op, foreign_path, center.token, "center token")
            sweep.expect(answer, 403, EMPLOYER_ONLY, f"center token: {op.method} {op.service}{op.template}")
        if center_route and not (employer_route or public or for_anyone_signed_in):
            counts["employer_on_center"] += 1
            answer = sweep.call(op, foreign_path, own.token, "own employer on a center route")
            sweep.expect(answer, 403, NO_RIGHT, f"employer token: {op.method} {op.service}{op.template}")

    # The ids are the first employer's own (its session opens each), and the markers show its data.
    for service, path in [("member", f"/employers/{A}/imports/{foreign.ids['import_id']}"),
                          ("notify", f"/employers/{A}/inbox-items/{foreign.ids['item_id']}"),
                          ("workflow", f"/instances/{foreign.ids['instance_id']}/path"),
                          ("member", f"/businesses/member_registration/{foreign.ids['business_id']}"),
                          ("employer", f"/businesses/employer_change/{foreign.change_request}"),
                          ("member", f"/employers/{A}/rosters/member_registration/businesses/"
                                     f"{foreign.ids['business_id']}/rows")]:
        assert own.call("GET", service, path).status_code == 200, (service, path)
    assert foreign.leaked(own.call("GET", "employer", f"/employers/{A}").text)
    assert foreign.leaked(own.call("GET", "member", f"/employers/{A}/members", params={"per_page": 50}).text)
    elapsed = time.monotonic() - started
    print(f"route sweep: {len(ops)} operations, {sweep.requests} requests, {counts}, {elapsed:.1f}s")
    reliability_report.figures(requests=sweep.requests, leaks=sum("first employer's" in f for f in sweep.failures),
                               server_errors=sum(" answered 5" in f for f in sweep.failures))
    reliability_report.note(f"{len(ops)} operations")
    assert sweep.failures == []
    assert counts["center"] >= 15 and counts["employer_on_center"] >= 30 and counts["service"] >= 150


# -- the gateway's pages -------------------------------------------------------------------------------

RULES = """
import json
from gateway import create_app
app = create_app()
print(json.dumps([[r.rule, sorted((r.methods or set()) - {"HEAD", "OPTIONS"})] for r in app.url_map.iter_rules()]))
"""
PAGE_VALUES = {"box": "message", "type_": "member_registration", "year": str(date.today().year - 1),
               "name": "employer-changes", "member_no": demo.members(A)[0]["member_no"], "login_name": A,
               "key": "employer_change", "service": "member"}
GATEWAY_IDS = {"item_id": "item_id", "import_id": "import_id", "instance_id": "instance_id", "task_id": "task_id",
               "request_id": "request_id", "row_id": "row_id"}
CSRF = re.compile(r'(csrf[-_]token"\s+(?:content|value)=")[^"]*')


def page_rules(stack: Stack) -> list[tuple[str, list[str]]]:
    """The gateway's url_map, read by the gateway's own factory with the stack's settings."""
    made = subprocess.run([sys.executable, "-c", RULES], cwd=ROOT, env=stack.env(), capture_output=True, text=True,
                          check=True, timeout=60)
    return [(rule, methods) for rule, methods in json.loads(made.stdout.strip().splitlines()[-1])]


def page_path(rule: str, foreign: Foreign, objects: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter, first_choice, name = match.groups()
        if name in GATEWAY_IDS:
            if objects == "missing":
                return MISSING_ID
            return foreign.business_row if name == "row_id" and "/processes/" in rule else foreign.ids[name]
        if converter == "any":
            return str(first_choice).strip()
        return PAGE_VALUES.get(name, "1" if converter == "int" else "x1")

    return re.sub(r"<(?:(\w+)(?:\(([^),]*)[^)]*\))?:)?(\w+)>", value, rule)


def cookie(stack: Stack, api: Api, key: str, secret: str | None = None) -> str:
    """A gateway session cookie for this signed-in account, as its login page would set it, signed with
    the running gateway's key (or another: a forged cookie)."""
    app = Flask("cookie")
    app.secret_key = secret or (stack.var_dir / "gateway_secret").read_text().strip()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    claims = jwt.decode(api.token, options={"verify_signature": False})
    principal = {k: claims.get(k) for k in ("sub", "role", "name", "emp", "emp_name", "perms", "grp")}
    value = {key: {"token": api.token, "refresh_token": api.refresh_token, "expires_at": api.expires_at,
                   "principal": principal, "sound_enabled": True, "last_active": time.time(),
                   "started_at": time.time(), "live_id": ""}}
    return f"session={serializer.dumps(value)}"


def _page(answer: httpx.Response, path: str) -> tuple[int, str, str]:
    """Status, where it sends the browser, and the page, with the path asked for (a login link repeats
    it) and the per-request CSRF tokens put aside."""
    text = answer.text if "html" in answer.headers.get("content-type", "") else answer.headers.get("content-type", "")
    text = CSRF.sub(r"\1<token>", text.replace(quote(path, safe="/"), "<path>").replace(path, "<path>"))
    location = answer.headers.get("location", "")
    return answer.status_code, location.replace(quote(path, safe="/"), "<path>").replace(path, "<path>"), text


def test_every_gateway_page_refuses_strangers_and_shows_no_other_employers_data(
        stack: Stack, foreign: Foreign, other: Api, reliability_report: Recorder) -> None:
    """Every page of the gateway (its url_map), without a session, with a forged or altered cookie,
    with another employer's session and the first employer's ids in the path, an employer's session in
    the console and a center's in the hall: no 5xx, no page showing the first employer's data, its
    objects answering as missing ones."""
    started = time.monotonic()
    rules = page_rules(stack)
    assert len(rules) >= 80
    gateway = stack.url("gateway")
    employer_cookie = cookie(stack, other, EMPLOYER_KEY)
    name, _, signed = employer_cookie.partition("=")
    altered = f"{name}={signed[:-3]}{'A' if signed[-3] != 'A' else 'B'}{signed[-2:]}"
    sessions = {"forged": cookie(stack, employer_api(stack, A), EMPLOYER_KEY, secret="not-the-gateways-key"),
                "altered": altered}
    center_cookie = cookie(stack, center_api(stack), CENTER_KEY)
    # The cookies are live: the other employer's opens its own hall, the first employer's opens its item.
    own_cookie = cookie(stack, employer_api(stack, A), EMPLOYER_KEY)
    home = httpx.get(gateway + "/inbox/message", headers={"Cookie": employer_cookie}, timeout=15)
    assert home.status_code == 200 and OTHER_NAME in home.text, home.status_code
    item = httpx.get(gateway + f"/inbox/{foreign.ids['item_id']}", headers={"Cookie": own_cookie}, timeout=15)
    assert item.status_code == 200 and foreign.leaked(item.text), item.status_code
    failures: list[str] = []
    fetched: list[int] = []
    swept = 0
    with httpx.Client(base_url=gateway, timeout=15, follow_redirects=False) as client:
        def fetch(method: str, path: str, session: str | None, what: str) -> httpx.Response:
            client.cookies.clear()  # each request carries the cookie it is given, never one kept from before
            answer = client.request(method, path, headers={"Cookie": session} if session else {})
            fetched.append(answer.status_code)
            if answer.status_code >= 500:
                failures.append(f"{what}: {method} {path} answered {answer.status_code}")
            leaked = foreign.leaked(answer.text)
            if leaked:
                failures.append(f"{what}: {method} {path} shows the first employer's {leaked[:3]}")
            return answer

        for rule, methods in rules:
            path = page_path(rule, foreign, "foreign")
            for method in methods:
                swept += 1
                nobody = _page(fetch(method, path, None, "no session"), path)
                # A cookie not signed by the gateway, or altered, is no session at all.
                for kind, value in sessions.items():
                    got = _page(fetch(method, path, value, kind), path)
                    if got[:2] != nobody[:2]:
                        failures.append(f"{kind} cookie: {method} {path}: {got[:2]}, without a session {nobody[:2]}")
                if method != "GET":
                    continue  # the forms' posts carry the session's CSRF token; the services' sweep covers them
                # The other employer: the first employer's objects are missing; the console is not its own.
                mine = _page(fetch(method, path, employer_cookie, "other employer"), path)
                nowhere = page_path(rule, foreign, "missing")
                missing = _page(fetch(method, nowhere, employer_cookie, "other employer, nothing"), nowhere)
                if mine != missing:
                    failures.append(f"other employer: GET {path}: {mine[:2]} differs from a missing id's {missing[:2]}")
                if rule.startswith("/admin/") and mine[:2] != nobody[:2]:
                    failures.append(f"employer session in the console: GET {path}: {mine[:2]}")
                # A center session in the employers' hall is no employer's session.
                if not rule.startswith("/admin"):
                    got = _page(fetch(method, path, center_cookie, "center session"), path)
                    if got[:2] != nobody[:2]:
                        failures.append(f"center session: GET {path}: {got[:2]}, without a session {nobody[:2]}")
    elapsed = time.monotonic() - started
    print(f"page sweep: {len(rules)} rules, {swept} (page, method) pairs, {elapsed:.1f}s")
    reliability_report.figures(requests=len(fetched), server_errors=sum(code >= 500 for code in fetched),
                               leaks=sum("first employer's" in f for f in failures))
    reliability_report.note(f"{len(rules)} rules, {swept} (page, method) pairs")
    assert failures == []
