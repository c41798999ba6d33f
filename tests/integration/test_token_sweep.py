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
employer's session on every GET page with the first employer's ids (as ids that do not exist). Every
POST page is then posted past its CSRF check (the session's own token): the other employer's session
aimed at the first employer's objects is refused as if they did not exist and changes none of its rows
(every service's database compared before and after); a center session in the hall and an employer's
in the console answer as no session; a POST page the sweep cannot fill fails it (sweep_pages.FORMS).

Echo of the request: an answer to another employer's session or to a bad token never repeats the
employer number it was asked about (the refusals do not name it); the only route allowed to answer
with the first employer's data to a stranger is a public one that carries its own proof: a real print's
verification code shows whose document it is and nothing more, the code altered is issued by nobody.
The first employer's objects include a booked 补缴 (the payment service's ids) and that print.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.stack import Stack
from gateway.session import CENTER_KEY, EMPLOYER_KEY
from hall_common.access import EMPLOYER_ONLY, NO_RIGHT
from hall_common.settings import SERVICES

from ..reliability import Recorder
from .helpers import Api, add_clean_employer, center_api, employer_api
from .sweep_calls import VERIFY, A, Sweep, check_verification, path_of
from .sweep_pages import (
    FORMS,
    MISSING_MEMBER,
    OWN_EMPLOYER_PAGES,
    SELF_PAGES,
    Cookies,
    Objects,
    PageSweep,
    hide,
    names_objects,
    objects_of,
    owner_rows,
    page_path,
    page_rules,
    page_shape,
    refused,
    settled_owner_rows,
    variants,
)
from .sweep_support import (
    MISSING_EMPLOYER,
    SUPPLEMENT_MEMBER,
    Foreign,
    bad_tokens,
    clean_up,
    gather_foreign,
    operations,
    service_tokens,
)

pytestmark = pytest.mark.integration

OTHER, OTHER_NAME = "100100033", "太原市越权演练商贸有限公司"
# The routes the other employer's session is not sent to, on purpose: they act on the caller's own
# session (ending it, changing its password), name no employer and no object.
OWN_SESSION = {("POST", "/auth/logout"), ("POST", "/auth/password")}


@pytest.fixture(scope="module")
def foreign(stack: Stack) -> Iterator[Foreign]:
    found, employer = gather_foreign(stack)
    yield found
    clean_up(employer, found)


@pytest.fixture(scope="module")
def other(stack: Stack) -> Api:
    add_clean_employer(stack, OTHER, OTHER_NAME, "91140100MA0K00033X")
    return employer_api(stack, OTHER, OTHER)


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
            if op.template.endswith(VERIFY):
                check_verification(sweep, op, answer, path_of(op, foreign, A, "missing"), other.token)

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
                          ("payment", f"/businesses/supplementary_payment/{foreign.payment_business}"),
                          ("payment", f"/employers/{A}/rosters/supplementary_payment/businesses/"
                                      f"{foreign.payment_business}/rows"),
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
    cookies = Cookies(stack)
    employer_cookie = cookies.of(other, EMPLOYER_KEY)
    name, _, signed = employer_cookie.partition("=")
    altered_cookie = f"{name}={signed[:-3]}{'A' if signed[-3] != 'A' else 'B'}{signed[-2:]}"
    sessions = {"forged": cookies.of(employer_api(stack, A), EMPLOYER_KEY, secret="not-the-gateways-key"),
                "altered": altered_cookie}
    center_cookie = cookies.of(center_api(stack), CENTER_KEY)
    # The cookies are live: the other employer's opens its own hall, the first employer's opens its item.
    own_cookie = cookies.of(employer_api(stack, A), EMPLOYER_KEY)
    home = httpx.get(gateway + "/inbox/message", headers={"Cookie": employer_cookie}, timeout=15)
    assert home.status_code == 200 and OTHER_NAME in home.text, home.status_code
    item = httpx.get(gateway + f"/inbox/{foreign.ids['item_id']}", headers={"Cookie": own_cookie}, timeout=15)
    assert item.status_code == 200 and foreign.leaked(item.text), item.status_code
    sweep = PageSweep(stack, foreign)
    failures, fetch = sweep.failures, sweep.fetch
    swept = 0
    try:
        for rule, methods in rules:
            path = page_path(rule, foreign, "foreign")
            for method in methods:
                swept += 1
                nobody = page_shape(fetch(method, path, None, "no session"), path)
                # A cookie not signed by the gateway, or altered, is no session at all.
                for kind, value in sessions.items():
                    got = page_shape(fetch(method, path, value, kind), path)
                    if got[:2] != nobody[:2]:
                        failures.append(f"{kind} cookie: {method} {path}: {got[:2]}, without a session {nobody[:2]}")
                if method != "GET":
                    continue  # past the CSRF check: the next test
                # The other employer: the first employer's objects are missing; the console is not its own.
                mine = page_shape(fetch(method, path, employer_cookie, "other employer"), path)
                nowhere = page_path(rule, foreign, "missing")
                missing = page_shape(fetch(method, nowhere, employer_cookie, "other employer, nothing"), nowhere)
                if mine != missing:
                    failures.append(f"other employer: GET {path}: {mine[:2]} differs from a missing id's {missing[:2]}")
                if rule.startswith("/admin/") and mine[:2] != nobody[:2]:
                    failures.append(f"employer session in the console: GET {path}: {mine[:2]}")
                # A center session in the employers' hall is no employer's session.
                if not rule.startswith("/admin"):
                    got = page_shape(fetch(method, path, center_cookie, "center session"), path)
                    if got[:2] != nobody[:2]:
                        failures.append(f"center session: GET {path}: {got[:2]}, without a session {nobody[:2]}")
    finally:
        sweep.close()
    elapsed = time.monotonic() - started
    print(f"page sweep: {len(rules)} rules, {swept} (page, method) pairs, {elapsed:.1f}s")
    reliability_report.figures(requests=len(sweep.fetched), server_errors=sum(code >= 500 for code in sweep.fetched),
                               leaks=sum("first employer's" in f for f in failures))
    reliability_report.note(f"{len(rules)} rules, {swept} (page, method) pairs")
    assert failures == []


def test_every_gateway_form_refuses_another_employers_session_and_changes_nothing_of_the_first_employer(
        stack: Stack, foreign: Foreign, other: Api, reliability_report: Recorder) -> None:
    """Every POST page of the gateway (its url_map) past its CSRF check (the session's own token): the
    other employer's session aimed at the first employer's objects, in the path or the form (rows,
    imports, inbox items, processes, requests, members), is refused and answers as objects that do not
    exist; a center session in the hall and an employer's in the console answer as no session; no 5xx,
    no page showing the first employer's data, none of its rows in any service's database changed. A
    page the sweep cannot classify fails it."""
    started = time.monotonic()
    posts = [rule for rule, methods in page_rules(stack) if "POST" in methods]
    assert len(posts) >= 60
    cookies = Cookies(stack)
    csrf = cookies.csrf
    nobody_cookie = cookies.of(None, EMPLOYER_KEY)  # a visitor's: the CSRF token, no one signed in
    employer_cookie = cookies.of(other, EMPLOYER_KEY)
    center_cookie = cookies.of(center_api(stack), CENTER_KEY)
    sweep = PageSweep(stack, foreign)
    failures = sweep.failures
    # The token passes the check: the other employer's 录入 of a member of its own reaches its owner.
    reached = sweep.post("/members/seal", employer_cookie, "check", FORMS["/members/seal"](
        Objects(row="", member=OTHER + "0001")), csrf)
    assert (reached.status_code, cookies.flashes(reached)) == (200, [("error", "个人账号：个人账号不存在")])
    before = settled_owner_rows(stack)
    unclassified, counts = [], {"other_employer": 0, "center": 0, "employer_in_console": 0, "self": 0}

    def as_nobody(what: str, path: str, got: httpx.Response, nobody: httpx.Response) -> None:
        if page_shape(got, path)[:2] != page_shape(nobody, path)[:2]:
            failures.append(f"{what}: POST {path}: {page_shape(got, path)[:2]}, "
                            f"without a session {page_shape(nobody, path)[:2]}")

    try:
        for rule, form_rule in [(variant, page) for page in posts for variant in variants(page)]:
            console = rule == "/admin" or rule.startswith("/admin/")
            if rule in SELF_PAGES:
                counts["self"] += 1
                continue
            if not (console or form_rule in FORMS or rule in OWN_EMPLOYER_PAGES or names_objects(rule)):
                unclassified.append(rule)
                continue
            fill = FORMS.get(form_rule, lambda o: {"data": {}})
            path, form = page_path(rule, foreign, "foreign"), fill(objects_of(foreign, "foreign"))
            nobody = sweep.post(path, nobody_cookie, "no session", form, csrf)
            if console:
                counts["employer_in_console"] += 1
                as_nobody("employer session in the console", path,
                          sweep.post(path, employer_cookie, "employer in the console", form, csrf), nobody)
                continue
            counts["center"] += 1
            as_nobody("center session", path, sweep.post(path, center_cookie, "center session", form, csrf), nobody)
            if rule in OWN_EMPLOYER_PAGES:
                continue
            counts["other_employer"] += 1
            mine = sweep.post(path, employer_cookie, "other employer", form, csrf)
            if not refused(mine, cookies.flashes(mine)):
                failures.append(f"other employer: POST {path} {form} was not refused: {mine.status_code} "
                                f"{cookies.flashes(mine)}")
            nowhere = page_path(rule, foreign, "missing")
            missing = sweep.post(nowhere, employer_cookie, "other employer, nothing",
                                 fill(objects_of(foreign, "missing")), csrf)
            hidden = [SUPPLEMENT_MEMBER["member_no"], MISSING_MEMBER]
            got = (*page_shape(mine, path, hidden), hide(cookies.flashes(mine), hidden))
            expected = (*page_shape(missing, nowhere, hidden), hide(cookies.flashes(missing), hidden))
            if got != expected:
                failures.append(f"other employer: POST {path}: {got[0], got[1], got[3]} differs from "
                                f"a missing object's {expected[0], expected[1], expected[3]}")
    finally:
        sweep.close()
    after = owner_rows(stack)
    changed = sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))
    elapsed = time.monotonic() - started
    print(f"form sweep: {len(posts)} POST pages, {len(sweep.fetched)} requests, {counts}, {elapsed:.1f}s")
    reliability_report.figures(requests=len(sweep.fetched), server_errors=sum(code >= 500 for code in sweep.fetched),
                               leaks=sum("first employer's" in f for f in failures))
    reliability_report.note(f"{len(posts)} POST pages, {len(before)} tables of the first employer compared")
    assert unclassified == [], "POST pages the sweep cannot fill: add them to sweep_pages.FORMS"
    assert changed == [], "the first employer's rows changed"
    assert failures == []
    assert counts["other_employer"] >= 20 and counts["employer_in_console"] >= 30

