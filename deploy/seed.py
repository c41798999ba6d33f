"""Seed the demo data into every service's own database (idempotent: run it twice, nothing doubles)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from hall_common import db

from . import demo_data as demo


def seed_auth() -> None:
    from services.auth.models import CENTER, EMPLOYER, Operator
    from services.auth.services import EMPLOYER_PERMISSIONS, hash_password

    session = db.session()
    if session.scalar(select(Operator).where(Operator.login_name == demo.EMPLOYER_NO)) is None:
        session.add(Operator(
            login_name=demo.EMPLOYER_NO, role=EMPLOYER, display_name=demo.OPERATOR_NAME,
            employer_no=demo.EMPLOYER_NO, employer_name=demo.EMPLOYER_NAME,
            password_hash=hash_password(demo.EMPLOYER_PASSWORD), permissions=EMPLOYER_PERMISSIONS,
        ))
    if session.scalar(select(Operator).where(Operator.login_name == demo.CENTER_LOGIN)) is None:
        session.add(Operator(
            login_name=demo.CENTER_LOGIN, role=CENTER, display_name=demo.CENTER_NAME,
            password_hash=hash_password(demo.CENTER_PASSWORD), permissions=["approve"],
        ))


def seed_employer() -> None:
    from services.employer.models import Employer

    if db.session().get(Employer, demo.EMPLOYER_NO) is None:
        db.session().add(Employer(**demo.EMPLOYER))


def seed_member() -> None:
    from services.member.models import Member

    session = db.session()
    for row in demo.members():
        if session.get(Member, row["member_no"]) is None:
            session.add(Member(**{k: v for k, v in row.items() if k != "balance"}))


def seed_payment() -> None:
    from services.payment.models import EmployerAccount, MemberAccount

    session = db.session()
    if session.get(EmployerAccount, demo.EMPLOYER_NO) is not None:
        return
    rows = demo.members()
    total = sum((r["balance"] for r in rows), Decimal("0"))
    session.add(EmployerAccount(employer_no=demo.EMPLOYER_NO, balance=total, unallocated=Decimal("0.00")))
    for row in rows:
        session.add(MemberAccount(member_no=row["member_no"], employer_no=demo.EMPLOYER_NO, balance=row["balance"]))


def seed_workflow() -> None:
    from services.workflow.services import deploy_defaults

    deploy_defaults()


def seed_notify() -> None:
    """The inboxes start empty: every message comes from real business."""


SEEDERS: dict[str, Callable[[], None]] = {
    "auth": seed_auth, "employer": seed_employer, "member": seed_member,
    "payment": seed_payment, "workflow": seed_workflow, "notify": seed_notify,
}


def seed(service: str) -> None:
    app = importlib.import_module(f"services.{service}").create_app()
    with app.app_context():
        SEEDERS[service]()
        db.session().commit()
    db.get_db(app).dispose()


def main() -> None:
    for service in SEEDERS:
        seed(service)


if __name__ == "__main__":
    main()
