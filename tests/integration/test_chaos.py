"""The chaos run (issue 20, `make chaos`): businesses of every type, from a few threads, through the real
stack while its parts fail: an event worker and the heavy worker SIGKILLed, Redis restarted, the member
service restarted, each once, at fixed points of the run. Then the stack is left to settle and every
business is checked in the services' databases and APIs.

HALL_CHAOS_BUSINESSES sets the number of businesses (`make test` runs a small default, `make chaos`
1,000); the run is the same on SQLite and on PostgreSQL (HALL_TEST_POSTGRES)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.orm import Session

from deploy.stack import Stack
from hall_common import receipts
from hall_common.outbox import _receivers

from .. import money
from ..reliability import Recorder
from . import helpers
from .chaos_driver import Driver
from .chaos_import import KilledImport
from .chaos_support import Business, Counter, Databases, RobustApi, new_id_number, open_employer, patient
from .helpers import center_api, roster_business

pytestmark = pytest.mark.integration
BUSINESSES = int(os.environ.get("HALL_CHAOS_BUSINESSES", "80"))
THREADS = 4
EMPLOYERS = [f"8008000{i:02d}" for i in range(THREADS)]
PROBE = "800800099"  # the employer of the probes that time each recovery
INTEREST_YEAR = 2001  # the heavy worker's probe: a settlement of a year before any money
SERVICES = ("auth", "employer", "member", "notify", "payment", "workflow")
HEAVY = "heavy worker SIGKILLed mid-import"
# The heavy queue's visibility timeout as short as it may be (1 h by default): the killed import comes
# back by Redis within the run, not an hour later.
HEAVY_VISIBILITY = "60"


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: its faults stay out of the session's stack, and its databases hold only the
    demo data and this run. Its demo accounts start with their initial passwords."""
    from tests.conftest import running_stack

    saved = dict(helpers._passwords)
    helpers._passwords.clear()
    try:
        with running_stack(tmp_path_factory.mktemp("chaos"), {"HALL_HEAVY_VISIBILITY_TIMEOUT": HEAVY_VISIBILITY},
                           tag="_chaos") as running:
            yield running
    finally:
        helpers._passwords.clear()
        helpers._passwords.update(saved)


class Faults:
    """The four faults, each injected once the run has started its share of businesses, each followed by
    a probe submitted at once: the fault's recovery time is from the fault to the probe's end."""

    def __init__(self, stack: Stack, dbs: Databases, counter: Counter) -> None:
        self.stack, self.dbs, self.counter = stack, dbs, counter
        self.center = RobustApi.of(center_api(stack))
        self.probe = open_employer(stack, dbs, PROBE, 99)
        self.heavy_job = KilledImport(stack, dbs)
        self.recovery: dict[str, float] = {}
        self.probes: list[Business] = []
        self.error = ""

    def run(self) -> None:
        # A fault that prepares itself first answers the moment it struck.
        plan: list[tuple[str, Callable[[], float | None], Callable[[], None]]] = [
            ("event worker SIGKILLed", self.kill_worker, self.register_probe),
            (HEAVY, self.kill_heavy, self.settle_probe),
            ("Redis restarted", self.stack.restart_redis, self.register_probe),
            ("member service restarted", self.restart_member, self.register_probe),
        ]
        try:
            for index, (name, fault, probe) in enumerate(plan):
                if not self.counter.reach(BUSINESSES * (index + 1) // 5):
                    return
                started = time.monotonic()
                started = fault() or started
                probe()
                self.recovery[name] = time.monotonic() - started
        except Exception as exc:  # the test fails on it after the threads end
            self.error = f"{type(exc).__name__}: {exc}"

    def kill_worker(self) -> None:
        self.stack.kill_process("worker")
        self.stack.start_worker()  # as the supervisor (systemd Restart=always) would

    def kill_heavy(self) -> float:
        """Killed mid-job: the large import it is running is cut off, to come back by Redis."""
        return self.heavy_job.kill_mid_job(lambda: self.stack.kill_process("heavy"), self.stack.start_heavy)

    def restart_member(self) -> None:
        self.stack.stop_process("member")
        self.stack.start_service("member")

    def register_probe(self) -> None:
        """A member registered on the probe employer, through the member service, the event worker,
        Redis and the workflow, until the member is opened and its message stored."""
        id_number = new_id_number()
        business_id = self.probe_roster(id_number)
        self.probes.append(Business("member_registration", business_id, PROBE, "approve"))
        patient(lambda: self.dbs.messages("member_registration", business_id), "the probe's message")
        patient(lambda: self.probe.get("member", f"/employers/{PROBE}/members/search", q=id_number),
                "the probe's member")

    def probe_roster(self, id_number: str) -> str:
        return roster_business(self.probe, "member", "member_registration", {
            "name": "探针", "id_number": id_number, "base": "4000", "first_month": "202401", "ratio": "12"}, PROBE)

    def settle_probe(self) -> None:
        """An interest settlement on the heavy queue, taken by the heavy worker just started."""
        started = self.center.call("POST", "payment", "/interest/runs", json={"year": INTEREST_YEAR})
        assert started.status_code == 202, started.text
        patient(lambda: self.center.get("payment", f"/interest/runs/{INTEREST_YEAR}")["status"] == "done",
                "the settlement on the heavy worker")


def quiet(stack: Stack, dbs: Databases) -> None:
    """Every event published and received by each of its consumers (their receipts in Redis, as the
    relay's check reads them), every queue empty, no message taken and unacknowledged."""
    redis = Redis(port=stack.redis_port, decode_responses=True)
    left: list[str] = []

    def settled() -> bool:
        left.clear()
        for service in SERVICES:
            unpublished = dbs.scalar(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if unpublished:
                left.append(f"{service}: {unpublished} events unpublished")
            for (payload,) in dbs.rows(service, "SELECT payload FROM outbox WHERE check_at IS NOT NULL"):
                event = json.loads(payload)
                left.extend([f"{service}: {event['type']} {event['id']} without {target}'s receipt"
                         for target in _receivers(event) if not redis.exists(receipts.key(target, event["id"]))])
        queues = [key for key in redis.scan_iter() if redis.type(key) == "list" and not key.startswith("_kombu")]
        left.extend(f"{key}: {redis.llen(key)} queued" for key in queues if redis.llen(key))
        left.extend(f"{redis.hlen(key)} {key}" for key in ("unacked", "unacked_heavy") if redis.hlen(key))
        return not left

    try:
        patient(settled, "the stack to settle", timeout=180)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {left[:20]}") from None
    finally:
        redis.close()


def duplicates(dbs: Databases) -> list[str]:
    """Anything the hall holds twice: a journal entry, a member (by ID number), a receipt, a process."""
    found = []
    for service, what, sql in (
        ("payment", "journal entry", "SELECT source FROM journal_entries GROUP BY source HAVING count(*) > 1"),
        ("payment", "receipt", "SELECT bank_reference FROM receipts GROUP BY bank_reference HAVING count(*) > 1"),
        ("member", "member", "SELECT id_number FROM members GROUP BY id_number HAVING count(*) > 1"),
        ("workflow", "process", "SELECT business_type, business_id FROM process_instances "
                                "GROUP BY business_type, business_id HAVING count(*) > 1"),
    ):
        found += [f"{what} {tuple(row)}" for row in dbs.rows(service, sql)]
    return found


def check_business(dbs: Databases, business: Business) -> str:
    """'' if the business ended as planned, exactly once, with exactly its messages; else what is wrong."""
    if business.error or not business.business_id:
        return business.error or "never submitted"
    if business.type == "receipt":
        stored = dbs.scalar("payment", "SELECT count(*) FROM receipts WHERE bank_reference = :r",
                            r=business.business_id)
        return "" if stored == 1 else f"stored {stored} times"
    instances = dbs.rows("workflow", "SELECT status, outcome FROM process_instances WHERE business_type = :t "
                                     "AND business_id = :b", t=business.type, b=business.business_id)
    wanted = ("ended", "ended") if business.decision == "end" else \
        ("completed", "approved" if business.decision == "approve" else "rejected")
    if [tuple(row) for row in instances] != [wanted]:
        return f"process {instances}, wanted [{wanted}]"
    messages = dbs.messages(business.type, business.business_id)
    return "" if messages == business.messages else f"{messages} messages, wanted {business.messages}"


def check_money(dbs: Databases, drivers: list[Driver]) -> list[str]:
    """The hypothesis test's invariants over every account, and each employer's figures as the run made them."""
    with Session(dbs.engines["payment"]) as session:
        found = money.problems(session)
        for driver in drivers:
            figures = money.figures(session, driver.employer_no)
            if (figures["balance"], figures["unallocated"]) != (driver.balance, driver.unallocated):
                found.append(f"{driver.employer_no}: {figures}, the run made balance {driver.balance} and "
                             f"unallocated {driver.unallocated}")
    return found


def check_state(dbs: Databases, driver: Driver) -> list[str]:
    """The members and the employer's fields as the run's approved businesses left them."""
    from services.member.models import Member

    problems = []
    with Session(dbs.engines["member"]) as session:
        held = {m.id_number: (m.member_no, m.status, m.base, m.postcode) for m in
                session.scalars(sa.select(Member).where(Member.employer_no == driver.employer_no))}
    if len(held) != len(driver.members):
        problems.append(f"{driver.employer_no}: {len(held)} members, the run registered {len(driver.members)}")
    for member in driver.members:
        row = held.get(member.id_number)
        if row != (member.member_no, member.status, member.base, member.postcode):
            problems.append(f"member {member.member_no}: {row}, wanted {member}")
    profile = driver.employer.get("employer", f"/employers/{driver.employer_no}")
    fields = {f["name"]: f["value"] for f in profile["fields"]}
    problems += [f"{driver.employer_no} {k}: {fields.get(k)!r}, wanted {v!r}" for k, v in driver.profile.items()
                 if fields.get(k) != v]
    return problems


def dead_letters(dbs: Databases) -> list[str]:
    found = []
    for service in SERVICES:
        if sa.inspect(dbs.engines[service]).has_table("dead_letters"):
            found += [f"{service}: {tuple(row)}" for row in dbs.rows(
                service, "SELECT event_id, type, last_error FROM dead_letters WHERE status <> 'resolved'")]
    return found


def test_a_chaos_run_of_every_business_type_survives_killed_workers_a_redis_restart_and_a_service_restart(
        chaos: Stack, reliability_report: Recorder, tmp_path: Path) -> None:
    """Businesses of every type (members registered, sealed and unsealed; employer changes, member
    changes, base adjustments and 补缴 approved, rejected, or returned then resubmitted and approved or
    ended by 结束流程; bank receipts) from four threads, while an event worker and the heavy worker (mid
    import) are SIGKILLed, Redis is restarted and the member service is restarted, at 20, 40, 60 and 80% of
    the run: afterwards every business is in its planned final state once with exactly its messages, the
    import finished once with its rows once, nothing is duplicated, the money's invariants hold, no dead
    letter is left, and the recovery after each fault is timed."""
    started = time.monotonic()
    dbs = Databases(chaos)
    counter = Counter(THREADS)
    drivers = [Driver(chaos, dbs, open_employer(chaos, dbs, employer_no, index), RobustApi.of(center_api(chaos)),
                      employer_no, seed=index, counter=counter) for index, employer_no in enumerate(EMPLOYERS)]
    faults = Faults(chaos, dbs, counter)
    threads = [threading.Thread(target=d.run, args=(BUSINESSES // THREADS + (i < BUSINESSES % THREADS),),
                                name=f"chaos-{i}") for i, d in enumerate(drivers)]
    for thread in threads:
        thread.start()
    # The faults from this thread: a process the stack starts dies with the thread that started it
    # (PR_SET_PDEATHSIG follows the thread), and this one lives until the stack stops.
    faults.run()
    for thread in threads:
        thread.join()
    ran = time.monotonic() - started
    quiet(chaos, dbs)

    imported = faults.heavy_job.problems() if HEAVY in faults.recovery else ["the heavy worker was not killed"]
    if HEAVY in faults.recovery:  # recovered once the job it was killed under has finished too
        faults.recovery[HEAVY] = max(faults.recovery[HEAVY], faults.heavy_job.recovery_seconds())

    businesses = [b for d in drivers for b in d.done]
    wrong = {f"{b.type} {b.business_id or '?'} ({b.employer_no})": problem for b in [*businesses, *faults.probes]
             if (problem := check_business(dbs, b))}
    doubled = duplicates(dbs)
    letters = dead_letters(dbs)
    money_problems = check_money(dbs, drivers)
    state = [p for d in drivers for p in check_state(dbs, d)]
    dbs.dispose()

    reliability_report.figures(businesses=len(businesses), faults=len(faults.recovery),
                               lost=len(wrong), duplicated=len(doubled),
                               recovery_seconds=max(faults.recovery.values(), default=None))
    for name, seconds in faults.recovery.items():
        reliability_report.note(f"{name}: recovered in {seconds:.1f} s")
    types = sorted({b.type for b in businesses})
    heavy = faults.heavy_job
    missed = f" (after {heavy.missed} kill(s) that came once the import had ended)" if heavy.missed else ""
    reliability_report.note(f"the heavy worker was killed running a {heavy.rows}-row import "
                            f"({heavy.at_kill.get('done')} rows checked){missed}, which then finished once")
    returned = [b for b in businesses if b.returns]
    reliability_report.note(f"{len(returned)} returned ({', '.join(sorted({b.type for b in returned}))}): "
                            f"{sum(b.decision == 'approve' for b in returned)} resubmitted and approved, "
                            f"{sum(b.decision == 'end' for b in returned)} ended by 结束流程")
    reliability_report.note(f"{len(businesses)} businesses ({', '.join(types)}) and {len(faults.probes)} probes "
                            f"in {ran:.0f} s, {RobustApi.retries} calls tried again during faults")
    assert faults.error == "", faults.error
    assert len(businesses) == BUSINESSES and len(faults.recovery) == 4, (len(businesses), faults.recovery)
    assert wrong == {}
    assert imported == []
    assert doubled == []
    assert letters == []
    assert money_problems == []
    assert state == []
    if BUSINESSES >= 40:  # a small run may not reach every type
        assert set(types) == {"employer_change", "member_registration", "member_change", "base_adjustment",
                              "member_seal", "member_unseal", "supplementary_payment", "receipt"}
    if BUSINESSES >= 80:  # every type with a center task returned, then both resubmitted and ended
        assert {b.type for b in returned} == {"employer_change", "member_change", "base_adjustment",
                                              "supplementary_payment"}
        assert {b.decision for b in returned} == {"approve", "end"}
