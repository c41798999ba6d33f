"""Pushes through the running system: a downstream system with a service token issued by the
documented command broadcasts to every employer; the request answers at once and the real Celery worker
stores the message in batches, paging the employer service's directory with the notify service's own
token. A retried request stores nothing again; the token reads no inbox."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import httpx
import sqlalchemy as sa

from deploy.demo_data import SECOND_EMPLOYER_NO
from deploy.stack import ROOT, Stack

from .helpers import EMPLOYER, center_api, employer_api, messages, wait_for

EXTRA = 2_600  # with the demo's employers: three batches of 1,000


def _add_employers(stack: Stack) -> int:
    from services.employer.models import Employer

    engine = sa.create_engine(stack.database_url("employer"))
    rows = [{"employer_no": f"9{n:08d}", "name": f"推送测试单位{n}", "credit_code": f"91140100{n:010d}",
             "open_date": date(2020, 1, 1), "employer_ratio": Decimal("0.12"), "personal_ratio": Decimal("0.12")}
            for n in range(EXTRA)]
    with engine.begin() as connection:
        connection.execute(sa.delete(Employer.__table__).where(Employer.employer_no.like("9%")))
        connection.execute(sa.insert(Employer.__table__), rows)
        total = int(connection.execute(sa.select(sa.func.count()).select_from(Employer.__table__)).scalar_one())
    engine.dispose()
    return total


def _service_token(stack: Stack, name: str) -> str:
    issued = subprocess.run([sys.executable, "-m", "services.auth.service_tokens", "issue", name,
                             "--permission", "push", "--days", "1"], cwd=ROOT, env=stack.env(),
                            capture_output=True, text=True, check=True)
    return issued.stdout.strip()


def test_a_broadcast_reaches_every_employer_once_without_blocking(stack: Stack) -> None:
    total = _add_employers(stack)
    headers = {"Authorization": f"Bearer {_service_token(stack, 'core-accounting')}"}
    employer, center = employer_api(stack), center_api(stack)
    before = len(messages(employer))
    body = {"client_key": "broadcast-it-0001", "target": "all", "channel": "微信", "title": "系统升级通知",
            "content": "网上服务大厅将于周六22:00至24:00升级。"}
    started = time.monotonic()
    sent = httpx.post(stack.url("notify") + "/pushes", json=body, headers=headers, timeout=10)
    answered = time.monotonic() - started
    assert sent.status_code == 202, sent.text
    assert sent.json()["push"]["status"] == "storing" and answered < 2
    push_id = sent.json()["push"]["id"]

    done = wait_for(lambda: (p := center.get("notify", f"/pushes/{push_id}"))["status"] == "done" and p,
                    timeout=90, what="the broadcast stored")
    assert done["stored"] == total and done["channel"] == "微信"

    mine = [m for m in messages(employer) if m["title"] == "系统升级通知"]
    assert len(mine) == 1 and mine[0]["channel"] == "微信"
    assert len(messages(employer)) == before + 1
    counts = employer.get("notify", f"/employers/{EMPLOYER}/inbox-counts")
    assert counts["message"] == before + 1
    second = employer_api(stack, SECOND_EMPLOYER_NO)
    theirs = second.get("notify", f"/employers/{SECOND_EMPLOYER_NO}/inbox/message", per_page=200)["items"]
    assert [m["content"] for m in theirs if m["title"] == "系统升级通知"] == [body["content"]]

    # The same request again (the downstream system's retry): the same push, nothing stored again.
    again = httpx.post(stack.url("notify") + "/pushes", json=body, headers=headers, timeout=10)
    assert again.status_code == 200 and again.json()["push"]["id"] == push_id
    time.sleep(1)
    assert len([m for m in messages(employer) if m["title"] == "系统升级通知"]) == 1

    # The push token pushes and reads its own pushes' status; it reads no inbox and no employer directory.
    state = httpx.get(stack.url("notify") + f"/pushes/{push_id}", headers=headers, timeout=10)
    assert state.status_code == 200 and (state.json()["status"], state.json()["stored"]) == ("done", total)
    for service, path in (("notify", f"/employers/{EMPLOYER}/inbox/message"),
                          ("employer", "/employers"), ("employer", f"/employers/{EMPLOYER}")):
        refused = httpx.get(stack.url(service) + path, headers=headers, timeout=10)
        assert refused.status_code == 403, (path, refused.text)


def test_a_list_push_is_checked_against_the_employer_service(stack: Stack) -> None:
    _add_employers(stack)
    headers = {"Authorization": f"Bearer {_service_token(stack, 'statistics')}"}
    employer = employer_api(stack)
    nos = [EMPLOYER, *(f"9{n:08d}" for n in range(250))]  # three directory calls of up to 100 numbers
    body = {"client_key": "list-it-0001", "target": "list", "employer_nos": nos, "channel": "柜面",
            "title": "柜面业务调整", "content": "自下月起柜面业务时间调整为9:00-17:00。"}
    unknown = httpx.post(stack.url("notify") + "/pushes", json={**body, "employer_nos": [*nos, "888888888"]},
                         headers=headers, timeout=10)
    assert unknown.status_code == 422 and unknown.json()["message"] == "单位账号不存在：888888888"
    sent = httpx.post(stack.url("notify") + "/pushes", json=body, headers=headers, timeout=10)
    assert sent.status_code == 202, sent.text
    assert sent.json()["message"] == "已推送至251个单位"
    mine = [m for m in messages(employer) if m["title"] == "柜面业务调整"]
    assert [(m["channel"], m["content"]) for m in mine] == [("柜面", body["content"])]
