"""Data and credentials for the benchmarks, written straight into the services' databases as the
integration tests do. Run under the stack's environment: ``python -m bench.setup <command> ...``;
prints one JSON object."""

from __future__ import annotations

import importlib
import json
import sys
import time
from datetime import date
from typing import Any, cast

import sqlalchemy as sa

from hall_common import db
from hall_common.permissions import ALL_PERMISSIONS
from hall_common.security import Principal

BENCH_PREFIX = "9"  # bench employers: 9xxxxxxxx, apart from the demo ones


def _app(service: str) -> Any:
    return importlib.import_module(f"services.{service}").create_app()


def employers(count: int) -> dict[str, Any]:
    """``count`` extra employers, an access token for each and one for the center."""
    from deploy import demo_data as demo
    from services.employer.models import Employer

    numbers = [f"{BENCH_PREFIX}{i:08d}" for i in range(1, count + 1)]
    app = _app("employer")
    with app.app_context():
        session = db.session()
        for no in numbers:
            if session.get(Employer, no) is None:
                session.add(Employer(**{**demo.EMPLOYERS[0], "employer_no": no, "name": f"压测单位{no}"}))
        session.commit()
    db.get_db(app).dispose()

    from services.auth.services import issue_token

    app = _app("auth")
    with app.app_context():
        tokens = {no: issue_token(Principal(
            login_name=no, role="employer", display_name=f"经办人{no}", employer_no=no,
            employer_name=f"压测单位{no}", permissions=frozenset(ALL_PERMISSIONS),
        )) for no in numbers}
        center = issue_token(Principal(login_name=demo.CENTER_LOGIN, role="center", display_name=demo.CENTER_NAME,
                                       permissions=frozenset(demo.CENTER_PERMISSIONS),
                                       groups=frozenset(demo.CENTER_GROUPS)))
        demo_token = issue_token(Principal(
            login_name=demo.EMPLOYER_NO, role="employer", display_name="王晓燕", employer_no=demo.EMPLOYER_NO,
            employer_name=demo.EMPLOYER_NAME, permissions=frozenset(ALL_PERMISSIONS),
        ))
    return {"tokens": tokens, "center": center, "demo_employer": demo.EMPLOYER_NO, "demo_token": demo_token,
            "gateway_cookie": _gateway_cookie(demo_token, demo.EMPLOYER_NO, demo.EMPLOYER_NAME)}


def stream_cookies(count: int) -> dict[str, Any]:
    """The demo employer's operator signed in ``count`` times (each its own session, as ``count`` pages
    of as many browsers): the gateway holds at most 32 streams per session."""
    from deploy import demo_data as demo
    from services.auth.services import issue_token

    app = _app("auth")
    with app.app_context():
        tokens = [issue_token(Principal(
            login_name=demo.EMPLOYER_NO, role="employer", display_name="王晓燕", employer_no=demo.EMPLOYER_NO,
            employer_name=demo.EMPLOYER_NAME, permissions=frozenset(ALL_PERMISSIONS),
        )) for _ in range(count)]
    db.get_db(app).dispose()
    return {"cookies": [_gateway_cookie(t, demo.EMPLOYER_NO, demo.EMPLOYER_NAME) for t in tokens]}


def _gateway_cookie(token: str, employer_no: str, employer_name: str) -> str:
    """The gateway's signed session cookie of a signed-in operator, as its login page would set it."""
    from gateway import create_app
    from gateway.session import EMPLOYER_KEY, STARTED_AT

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    principal = {"sub": employer_no, "role": "employer", "name": "王晓燕", "emp": employer_no,
                 "emp_name": employer_name, "perms": sorted(ALL_PERMISSIONS)}
    value = {EMPLOYER_KEY: {"token": token, "refresh_token": "", "expires_at": 0, "principal": principal,
                            "sound_enabled": False, "last_active": time.time(),
                            # Streams end at the session's absolute limit, counted from its start.
                            STARTED_AT: time.time()}}
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(value)}"


def inbox(employer_no: str, total: int) -> dict[str, Any]:
    """Top the employer's 消息 box up to ``total`` rows (batched inserts, as an import would)."""
    app = _app("notify")
    with app.app_context():
        engine = db.get_db(app).engine
        table = sa.table("inbox_items", *(sa.column(c) for c in (
            "employer_no", "box", "business_type", "business_id", "title", "content", "channel",
            "source_event_id", "created_at")))
        with engine.begin() as connection:
            have = connection.execute(sa.text("SELECT COUNT(*) FROM inbox_items WHERE employer_no = :e"),
                                      {"e": employer_no}).scalar_one()
        started = time.perf_counter()
        batch = 20_000
        for first in range(have, total, batch):
            rows = [{
                "employer_no": employer_no, "box": "message", "business_type": "employer_change",
                "business_id": str(n), "title": "单位信息变更", "channel": "网上服务大厅",
                "content": f"尊敬的压测单位{employer_no}，您已完成办理单位信息变更！", "source_event_id": f"bench-{n}",
                "created_at": date(2026, 1, 1),
            } for n in range(first, min(first + batch, total))]
            with engine.begin() as connection:
                connection.execute(table.insert(), rows)
                # The box's maintained count moves with its rows, as the service's own writes do.
                connection.execute(sa.text(
                    "INSERT INTO inbox_box_counts (employer_no, box, n) VALUES (:e, 'message', :n) "
                    "ON CONFLICT (employer_no, box) DO UPDATE SET n = inbox_box_counts.n + excluded.n"),
                    {"e": employer_no, "n": len(rows)})
        return {"rows": total, "seeded_seconds": round(time.perf_counter() - started, 1)}


def members(employer_no: str, total: int) -> dict[str, Any]:
    """``total`` normal members for the employer, straight into the member service's database."""
    from decimal import Decimal

    from stdnum.cn import ric

    from services.member.models import Member

    app = _app("member")
    with app.app_context():
        engine = db.get_db(app).engine
        table = cast(sa.Table, Member.__table__)  # its types: money and ratios stored exactly on either database
        surnames, given = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
        started = time.perf_counter()
        for first in range(0, total, 20_000):
            rows = []
            for n in range(first, min(first + 20_000, total)):
                body = f"140105{date.fromordinal(date(1960, 1, 1).toordinal() + n // 1000):%Y%m%d}{n % 1000:03d}"
                base = Decimal(5000 + n % 1000)
                rows.append({
                    "member_no": f"{employer_no}{n + 1:06d}", "employer_no": employer_no,
                    "name": surnames[n % 20] + given[(n // 20) % 20] + given[(n // 400) % 20],
                    "id_type": "居民身份证", "id_number": body + ric.calc_check_digit(body + "0"),
                    "base": base, "employer_ratio": Decimal("0.12"), "personal_ratio": Decimal("0.12"),
                    "employer_amount": base * Decimal("0.12"), "personal_amount": base * Decimal("0.12"),
                    "status": "01",
                    "open_date": date(2020, 1, 1), "mobile": "", "first_month": "202001"})
            with engine.begin() as connection:
                connection.execute(table.insert(), rows)
        return {"rows": total, "seeded_seconds": round(time.perf_counter() - started, 1)}


def publish(employer_no: str) -> dict[str, Any]:
    """One live inbox notice for the employer, through the notify service's own publish_change."""
    from services.notify.live import publish_change

    app = _app("notify")
    with app.app_context():
        published_at = time.time()
        publish_change(employer_no)
    return {"published_at": published_at}


def instance_sizes() -> dict[str, Any]:
    app = _app("workflow")
    with app.app_context(), db.get_db(app).engine.connect() as connection:
        states = connection.execute(sa.text("SELECT state FROM process_instances WHERE status = 'completed'"))
        sizes = [len(state.encode("utf-8")) for (state,) in states]
    return {"completed": len(sizes), "avg_bytes": sum(sizes) / max(len(sizes), 1), "max_bytes": max(sizes, default=0)}


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "employers":
        result = employers(int(args[0]))
    elif command == "stream-cookies":
        result = stream_cookies(int(args[0]))
    elif command == "inbox":
        result = inbox(args[0], int(args[1]))
    elif command == "members":
        result = members(args[0], int(args[1]))
    elif command == "publish":
        result = publish(args[0])
    elif command == "instance-sizes":
        result = instance_sizes()
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
