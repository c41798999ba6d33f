"""What the gateway's part of the route sweep (test_token_sweep.py) is made of: its url_map, each rule
made into a concrete path with the first employer's objects or ids that exist nowhere, session cookies
as the login page sets them (with the session's CSRF token, so a form's POST reaches its view), the
answer reduced to what can be compared (status, redirect, flashed messages, page), the table of how
each POST page's form is filled, and the first employer's rows in every service's database, to see
that nothing of them changed."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import sqlalchemy as sa
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack
from hall_common.settings import SERVICES

from .helpers import Api
from .sweep_support import MISSING_ID, SUPPLEMENT_MEMBER, Foreign

A = demo.EMPLOYER_NO
MISSING_MEMBER = "9999999990001"
RULES = """
import json
from gateway import create_app
app = create_app()
print(json.dumps([[r.rule, sorted((r.methods or set()) - {"HEAD", "OPTIONS"})] for r in app.url_map.iter_rules()]))
"""
PAGE_VALUES = {"box": "message", "type_": "member_registration", "year": str(date.today().year - 1),
               "name": "employer-changes", "login_name": A, "key": "employer_change", "service": "member"}
# The rules' variables naming one of the first employer's objects (member_no: one of its members).
GATEWAY_IDS = ("item_id", "import_id", "instance_id", "task_id", "request_id", "row_id", "member_no", "key_id")
CSRF = re.compile(r'(csrf[-_]token"\s+(?:content|value)=")[^"]*')
ALERT = re.compile(r'<div class="alert alert-(\w+)" role="alert">([^<]*)</div>')
CSRF_FIELD = "csrf_token"

# POST pages that act on the caller's own session (logging in or out, its password, its display
# settings): no session is sent to them past the CSRF check, it would end or change that session.
SELF_PAGES = {"/login", "/login/challenge", "/login/password", "/login/select", "/logout", "/password",
              "/session/keepalive", "/sound", "/large-text", "/admin/login", "/admin/logout",
              # the security key's login and enrolment steps, and registering a key for the caller's own account
              "/login/webauthn/options", "/security-keys/enrol/options", "/security-keys/enrol",
              "/security-keys/options", "/security-keys"}
# Employer pages that act on the caller's own employer and name nothing else: the other employer's
# session is not sent (提交销户 would put its account into closure); the center's is (as no session).
OWN_EMPLOYER_PAGES = {"/employer/closure"}


@dataclass(frozen=True)
class Objects:
    """The objects a POST names: the first employer's ("foreign") or ones that exist nowhere."""
    row: str
    member: str


Form = Callable[[Objects], dict[str, Any]]
_MONTH = date.today().strftime("%Y%m")
# How each POST page without an object in its path is filled: aimed at the first employer's objects
# where the form names one (a member, roster rows), else an empty form of the caller's own employer.
# A page of the employers' hall in neither table nor with an object in its path fails the sweep.
FORMS: dict[str, Form] = {
    "/employer/change": lambda o: {"data": {}},
    "/members/register": lambda o: {"data": {}},
    "/members/seal": lambda o: {"data": {"member_no": o.member, "reason": "离职"}},
    "/members/unseal": lambda o: {"data": {"member_no": o.member, "reason": "正常启封"}},
    "/members/change": lambda o: {"data": {"member_no": o.member}},
    "/members/base-adjust": lambda o: {"data": {"member_no": o.member, "category": "base", "base": "5000",
                                                "effective_month": _MONTH}},
    "/members/base-adjust/preview": lambda o: {"json": {"values": {
        "member_no": o.member, "category": "base", "base": "5000", "effective_month": _MONTH}}},
    "/members/base-adjust/grid/<member_no>": lambda o: {"json": {"values": {
        "member_no": o.member, "category": "base", "base": "5000", "effective_month": _MONTH}}},
    "/supplement": lambda o: {"data": {"member_no": o.member, "reason": "漏缴补缴", "month": "202406",
                                       "amount": "1.00"}},
    "/members/roster/<type_>/commit": lambda o: {"data": {"scope": "selected", "row_ids": [o.row]}},
    # Not a workbook: the owner refuses it, nothing is stored for anyone.
    "/members/roster/<type_>/imports": lambda o: {"data": {"option": "12"},
                                                   "files": {"file": ("s.xlsx", b"not a workbook")}},
}


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
                return MISSING_MEMBER if name == "member_no" else MISSING_ID
            if name == "member_no":
                return SUPPLEMENT_MEMBER["member_no"]
            return foreign.business_row if name == "row_id" and "/processes/" in rule else foreign.ids[name]
        if converter == "any":
            return str(first_choice).strip()
        return PAGE_VALUES.get(name, "1" if converter == "int" else "x1")

    return re.sub(r"<(?:(\w+)(?:\(([^),]*)[^)]*\))?:)?(\w+)>", value, rule)


def variants(rule: str) -> list[str]:
    """The rule once per choice of its any() converters (accept and discard are two forms)."""
    found = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if found is None:
        return [rule]
    return [v for choice in found.group(1).split(",")
            for v in variants(rule[:found.start()] + choice.strip().strip("'\"") + rule[found.end():])]


def objects_of(foreign: Foreign, objects: str) -> Objects:
    if objects == "missing":
        return Objects(row=MISSING_ID, member=MISSING_MEMBER)
    return Objects(row=foreign.pending_row, member=SUPPLEMENT_MEMBER["member_no"])


def names_objects(rule: str) -> bool:
    return any(f":{name}>" in rule or f"<{name}>" in rule for name in GATEWAY_IDS)


class Cookies:
    """Gateway session cookies as its login page would set them, signed with the running gateway's key
    (or another: a forged cookie), each with the session's CSRF token a form of that session carries."""

    def __init__(self, stack: Stack) -> None:
        self.secret = (stack.var_dir / "gateway_secret").read_text().strip()
        app = Flask("cookie")
        app.secret_key = self.secret
        self.serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        self.raw_csrf = hashlib.sha1(b"route sweep").hexdigest()
        self.csrf = URLSafeTimedSerializer(self.secret, salt="wtf-csrf-token").dumps(self.raw_csrf)

    def of(self, api: Api | None, key: str, secret: str | None = None) -> str:
        value: dict[str, Any] = {CSRF_FIELD: self.raw_csrf}
        if api is not None:
            claims = jwt.decode(api.token, options={"verify_signature": False})
            principal = {k: claims.get(k) for k in ("sub", "role", "name", "emp", "emp_name", "perms", "grp")}
            value[key] = {"token": api.token, "refresh_token": api.refresh_token, "expires_at": api.expires_at,
                          "principal": principal, "sound_enabled": True, "last_active": time.time(),
                          "started_at": time.time(), "live_id": ""}
        if secret is None:
            return f"session={self.serializer.dumps(value)}"
        app = Flask("forged")
        app.secret_key = secret
        forged = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        return f"session={forged.dumps(value)}"

    def flashes(self, answer: httpx.Response) -> list[tuple[str, str]]:
        """The messages the answer flashes: in the session it sets (a redirect) or on the page it shows."""
        shown = ALERT.findall(answer.text) if "html" in answer.headers.get("content-type", "") else []
        sent = answer.cookies.get("session")
        if not sent:
            return [(c, t) for c, t in shown]
        kept = self.serializer.loads(sent).get("_flashes", [])
        return [(str(c), str(t)) for c, t in kept] + [(c, t) for c, t in shown]


def page_shape(answer: httpx.Response, path: str, hidden: list[str] = ()) -> tuple[int, str, str]:  # type: ignore[assignment]
    """Status, where it sends the browser, and the page, with the path asked for (a login link repeats
    it), the ids asked about and the per-request CSRF tokens put aside."""
    text = answer.text if "html" in answer.headers.get("content-type", "") else answer.headers.get("content-type", "")
    if "json" in answer.headers.get("content-type", ""):
        text = answer.text
    location = answer.headers.get("location", "")
    for value in [quote(path, safe="/"), path]:
        text, location = text.replace(value, "<path>"), location.replace(value, "<path>")
    for value in hidden:
        text, location = text.replace(value, "<id>"), location.replace(value, "<id>")
    return answer.status_code, location, CSRF.sub(r"\1<token>", text)


# -- the first employer's rows -----------------------------------------------------------------------

def owner_rows(stack: Stack) -> dict[str, str]:
    """A digest of the first employer's rows in every service's database, per table: the rows of every
    table with an employer number, and of a table keyed to its process instances (tasks, steps)."""
    digests: dict[str, str] = {}
    for service in SERVICES:
        engine = sa.create_engine(stack.database_url(service))
        try:
            tables = sa.MetaData()
            tables.reflect(engine)
            with engine.connect() as connection:
                instances: list[Any] = []
                if "process_instances" in tables.tables:
                    table = tables.tables["process_instances"]
                    instances = list(connection.scalars(sa.select(table.c.id).where(table.c.employer_no == A)))
                for name, table in sorted(tables.tables.items()):
                    if "employer_no" in table.c:
                        where = table.c.employer_no == A
                    elif "instance_id" in table.c and instances:
                        where = table.c.instance_id.in_(instances)
                    else:
                        continue
                    rows = connection.execute(sa.select(table).where(where).order_by(*table.primary_key.columns))
                    digests[f"{service}.{name}"] = hashlib.sha256(repr(rows.all()).encode()).hexdigest()
        finally:
            engine.dispose()
    return digests


def settled_owner_rows(stack: Stack, timeout: float = 30) -> dict[str, str]:
    """The first employer's rows once what earlier requests started (events, messages) has settled."""
    last = owner_rows(stack)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1)
        now = owner_rows(stack)
        if now == last:
            return now
        last = now
    raise AssertionError("the first employer's rows kept changing")


# -- the requests ------------------------------------------------------------------------------------

class PageSweep:
    """One client for the gateway; each answer checked as it comes (no 5xx, none of the first employer's
    data beyond what the request itself carried), the failures gathered for one report."""

    def __init__(self, stack: Stack, foreign: Foreign) -> None:
        self.foreign = foreign
        self.client = httpx.Client(base_url=stack.url("gateway"), timeout=15, follow_redirects=False)
        self.failures: list[str] = []
        self.fetched: list[int] = []

    def fetch(self, method: str, path: str, session: str | None, what: str, sent: tuple[str, ...] = (),
              csrf: str | None = None, **parts: Any) -> httpx.Response:
        self.client.cookies.clear()  # each request carries the cookie it is given, never one kept from before
        headers = {"Cookie": session} if session else {}
        if csrf:
            headers["X-CSRFToken"] = csrf  # a script's header; a form's field is in its data
        answer = self.client.request(method, path, headers=headers, **parts)
        self.fetched.append(answer.status_code)
        if answer.status_code >= 500:
            self.failures.append(f"{what}: {method} {path} answered {answer.status_code}")
        text = answer.text
        for value in (quote(path, safe="/"), path, *sent):  # what the request said is no leak when echoed
            text = text.replace(value, "")
        leaked = self.foreign.leaked(text)
        if leaked:
            self.failures.append(f"{what}: {method} {path} shows the first employer's {leaked[:3]}")
        return answer

    def post(self, path: str, session: str, what: str, form: dict[str, Any], csrf: str) -> httpx.Response:
        """A form's (or a script's) POST of this session, past the CSRF check."""
        parts: dict[str, Any] = {}
        sent = tuple(str(v) for v in _values(form))
        if "json" in form:
            parts["json"] = form["json"]
        else:
            parts["data"] = {**form.get("data", {}), CSRF_FIELD: csrf}
            if "files" in form:
                parts["files"] = form["files"]
        return self.fetch("POST", path, session, what, sent, csrf, **parts)

    def close(self) -> None:
        self.client.close()


def _values(form: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for value in [*form.get("data", {}).values(), *form.get("json", {}).get("values", {}).values()]:
        found += value if isinstance(value, list) else [value]
    return [v for v in found if len(str(v)) >= 6]  # ids and member numbers, not a short word of the form


def refused(answer: httpx.Response, flashed: list[tuple[str, str]]) -> bool:
    """Refused as the hall refuses: an error status, or back to a page with an error and no success."""
    if answer.status_code >= 400:
        return True
    categories = {category for category, _ in flashed}
    return "error" in categories and "success" not in categories


def hide(flashed: list[tuple[str, str]], hidden: list[str]) -> list[tuple[str, str]]:
    """The messages with the ids asked about put out of the way."""
    shown = []
    for category, text in flashed:
        for value in hidden:
            text = text.replace(value, "<id>")
        shown.append((category, text))
    return shown
