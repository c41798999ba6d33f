"""Interest settlement through the real stack: the center starts a year on the payment service, the rates
come from the member service (the payment service's own token, written by deploy.prepare), the heavy
worker settles it, and the employer's 7.4 query and 利息单 show what was booked."""

from __future__ import annotations

import io
import subprocess
import textwrap

from pypdf import PdfReader

from deploy.stack import BIN, ROOT, Stack

from .helpers import center_api, settled_run

EMPLOYER = "700700007"  # an employer of this test alone: its lines and nothing else
YEAR = 2021  # a year the demo history does not reach, so no other run has settled it
BOOK = textwrap.dedent(f"""
    from datetime import date
    from decimal import Decimal
    from hall_common import db
    from services.payment import create_app, ledger
    with create_app().app_context():
        session = db.session()
        for member_no, amount, day in (("M7001", "10000.00", date(2020, 6, 30)),
                                       ("M7002", "3000.00", date(2020, 10, 15))):
            ledger.book(session, employer_no="{EMPLOYER}", detail_type="99", summary="期初余额", booking_date=day,
                        source=f"it-interest:{{member_no}}", lines=[ledger.Line(member_no, Decimal(amount))])
        session.commit()
""")


def test_a_year_started_by_the_center_is_settled_by_the_heavy_worker_and_found_by_the_employer(
        stack: Stack) -> None:
    subprocess.run([str(BIN / "python"), "-c", BOOK], cwd=ROOT, env=stack.env(), check=True, timeout=60)
    center = center_api(stack)
    started = center.call("POST", "payment", "/interest/runs", json={"year": YEAR})
    assert started.status_code == 202, started.text
    # the demo policy's rates, read from the member service with the payment service's own token
    assert (started.json()["current_rate"], started.json()["carried_rate"]) == ("0.015", "0.015")

    run = settled_run(center, YEAR)
    assert run["members_done"] >= 2
    # 10,000 x 365 x 0.015 / 360 = 152.08; 3,000 x 259 days (15 Oct .. 30 Jun) = 32.375 -> 32.38
    page = center.get("payment", f"/employers/{EMPLOYER}/queries/interest", year=YEAR)
    assert page["total"] == 1
    assert (page["items"][0]["summary"], page["items"][0]["interest"], page["items"][0]["headcount"]) == (
        "2020-2021年度结息", "184.46", "2")
    slip = center.call("GET", "payment", f"/employers/{EMPLOYER}/interest/{YEAR}/slip")
    assert slip.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.content)).pages)
    assert "M7001" in text and "152.08" in text and "32.38" in text
    again = center.call("POST", "payment", "/interest/runs", json={"year": YEAR})
    assert again.status_code == 202 and again.json()["status"] == "done"
    assert center.get("payment", f"/employers/{EMPLOYER}/queries/interest", year=YEAR)["total"] == 1
