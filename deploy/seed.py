"""Seed the demo data into every service's own database (idempotent: run it twice, nothing doubles)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from hall_common import db

from . import demo_data as demo


def seed_auth() -> None:
    from services.auth.accounts import hash_password
    from services.auth.models import EMPLOYER, Operator

    session = db.session()
    for employer in demo.EMPLOYERS:
        if session.scalar(select(Operator).where(Operator.login_name == employer["employer_no"])) is None:
            session.add(Operator(
                login_name=employer["employer_no"], role=EMPLOYER, display_name=employer["contact_name"],
                employer_no=employer["employer_no"], employer_name=employer["name"],
                password_hash=hash_password(demo.INITIAL_PASSWORD), must_change_password=True,
                permissions=demo.PERMISSIONS[employer["employer_no"]],
            ))
    _demo_security_keys()
    _admin_role()
    _center_account(demo.CENTER_LOGIN, demo.CENTER_NAME, demo.CENTER_PASSWORD, [demo.CENTER_ROLE[0]],
                    demo.CENTER_GROUPS)
    _center_account(demo.REVIEWER_LOGIN, demo.REVIEWER_NAME, demo.REVIEWER_PASSWORD, [], demo.REVIEWER_GROUPS)
    _center_account(demo.ADMIN2_LOGIN, demo.ADMIN2_NAME, demo.ADMIN2_PASSWORD, [demo.CENTER_ROLE[0]], [])


def _demo_security_keys() -> None:
    """The demo employers may use security keys (a real employer may not until the center allows it)."""
    from services.auth.models import WebAuthnSwitch

    session = db.session()
    for employer in demo.EMPLOYERS:
        if session.get(WebAuthnSwitch, employer["employer_no"]) is None:
            session.add(WebAuthnSwitch(employer_no=employer["employer_no"], allowed=True, changed_by="demo"))


def _admin_role() -> None:
    from services.auth.models import CenterRole

    session = db.session()
    code, name = demo.CENTER_ROLE
    if session.get(CenterRole, code) is None:
        session.add(CenterRole(code=code, name=name, permissions=list(demo.CENTER_PERMISSIONS)))
        session.flush()


def _center_account(login_name: str, name: str, password: str, roles: list[str], groups: list[str]) -> None:
    """A demo center account with its roles and groups (the default groups come from the auth
    migration), created once: after that, what the admin console changed stays as it is."""
    from services.auth.accounts import hash_password
    from services.auth.models import CENTER, CenterRoleMember, GroupMember, Operator

    session = db.session()
    if session.scalar(select(Operator).where(Operator.login_name == login_name)) is not None:
        return
    session.add(Operator(login_name=login_name, role=CENTER, display_name=name, password_hash=hash_password(password),
                         must_change_password=False, permissions=[]))
    session.flush()
    session.add_all([GroupMember(group_code=code, login_name=login_name) for code in groups])
    session.add_all([CenterRoleMember(role_code=code, login_name=login_name) for code in roles])


def seed_employer() -> None:
    from services.employer.models import Employer

    for employer in demo.EMPLOYERS:
        if db.session().get(Employer, employer["employer_no"]) is None:
            db.session().add(Employer(**employer))


def seed_member() -> None:
    """The demo members, each with its opening (and a sealed one's seal) in the status history, so the
    12.3 query has a past to show."""
    from datetime import datetime, time, timedelta

    from services.member.models import NORMAL, OPENING, SEALED, SEALING, Member, StatusChange

    session = db.session()
    for employer in demo.EMPLOYERS:
        for row in demo.members(employer["employer_no"]):
            if session.get(Member, row["member_no"]) is not None:
                continue
            session.add(Member(**{k: v for k, v in row.items() if k != "balance"}))
            opened = datetime.combine(row["open_date"], time(9, 30))
            common = {"employer_no": row["employer_no"], "member_no": row["member_no"], "operator": "王晓燕"}
            session.add(StatusChange(**common, change_type=OPENING, from_status="", to_status=NORMAL, reason="开户",
                                     changed_at=opened))
            if row["status"] == SEALED:
                session.add(StatusChange(**common, change_type=SEALING, from_status=NORMAL, to_status=SEALED,
                                         reason="离职", changed_at=opened + timedelta(days=400)))


def seed_member_demo() -> None:
    """The demo's policy versions (demo_data.POLICIES) and each demo member's contribution terms from
    its first month. Only for make run: the unit tests seed with SEEDERS and set the policy each needs
    (the migration's initial version stands otherwise)."""
    from sqlalchemy import select

    from services.member.models import Contribution, PolicyVersion

    session = db.session()
    have = set(session.scalars(select(PolicyVersion.effective_from)))
    for policy in demo.POLICIES:
        if policy["effective_from"] not in have:
            session.add(PolicyVersion(**policy))
    termed = set(session.scalars(select(Contribution.member_no).distinct()))
    for employer in demo.EMPLOYERS:
        for row in demo.members(employer["employer_no"]):
            if row["member_no"] in termed:
                continue
            session.add(Contribution(
                employer_no=row["employer_no"], member_no=row["member_no"], from_month=row["first_month"],
                base=row["base"], employer_ratio=row["employer_ratio"], personal_ratio=row["personal_ratio"],
                employer_amount=row["employer_amount"], personal_amount=row["personal_amount"],
                business_type="member_registration"))


def seed_payment() -> None:
    """Each demo member's opening balance, booked as the journal's 期初余额 (so the employer's balance is
    its journal's sum from the start)."""
    from services.payment.demo_history import book_openings

    session = db.session()
    for employer in demo.EMPLOYERS:
        employer_no = employer["employer_no"]
        book_openings(session, employer_no, [(r["member_no"], r["balance"]) for r in demo.members(employer_no)])


def seed_payment_demo() -> None:
    """The demo employer's money history from July 2025 to last month (services/payment/demo_history.py)."""
    from services.member.models import NORMAL
    from services.payment.bills import hall_today
    from services.payment.demo_history import seed_history

    monthly = [(r["member_no"], r["first_month"], r["employer_amount"] + r["personal_amount"])
               for r in demo.members(demo.EMPLOYER_NO) if r["status"] == NORMAL]
    today = hall_today()
    seed_history(db.session(), demo.EMPLOYER_NO, monthly, today)
    db.session().commit()
    _settle_last_year(today)


def _settle_last_year(today: date) -> None:
    """The interest of the last finished interest year (30 June), so 7.4 shows a settled year with its
    slip. The services are not up while the demo is seeded: the demo policy's rates are given."""
    from services.payment.interest import Rates
    from services.payment.interest_jobs import settle_year

    year = today.year if today >= date(today.year, 7, 1) else today.year - 1
    end = date(year, 6, 30)
    policy = max((p for p in demo.POLICIES if p["effective_from"] <= end), key=lambda p: p["effective_from"],
                 default=demo.POLICIES[0])
    settle_year(year, actor="system", rates=Rates(policy["current_rate"], policy["carried_rate"]))


def seed_workflow() -> None:
    from services.workflow.services import deploy_defaults

    deploy_defaults()


def seed_notify() -> None:
    """The inboxes start empty: every message comes from real business."""


SEEDERS: dict[str, Callable[[], None]] = {
    "auth": seed_auth, "employer": seed_employer, "member": seed_member,
    "payment": seed_payment, "workflow": seed_workflow, "notify": seed_notify,
}


# What only make run's demo seeds, after SEEDERS (which the unit tests use as well).
DEMO_ONLY: dict[str, Callable[[], None]] = {"member": seed_member_demo, "payment": seed_payment_demo}


def seed(service: str) -> None:
    app = importlib.import_module(f"services.{service}").create_app()
    with app.app_context():
        SEEDERS[service]()
        if service in DEMO_ONLY:
            DEMO_ONLY[service]()
        db.session().commit()
    db.get_db(app).dispose()


def main() -> None:
    for service in SEEDERS:
        seed(service)


if __name__ == "__main__":
    main()
