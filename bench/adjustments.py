"""Issue 17's rows through the real stack.

- Base adjustments: 1,000 members' bases raised, as 10 employers each filing one roster of 100 members
  by batch import (the template downloaded, filled, uploaded), 保存, the center's handler approving each
  business, the owner applying every row and the message arriving in the employer's 消息 box. One time,
  from the first upload to the last message.
- Grid: the batch-edit grid's page (批量录入) through the member API over 100,000 normal members of one
  employer, pages spread over the whole list.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa

from deploy.stack import Stack
from services.notify.models import MESSAGE  # the 消息 box's key in notify's table

from .approval import POLL, TaskBoard
from .harness import Result, percentile, run_setup, stack_peaks

EMPLOYERS = 10
PER_ROSTER = 100
GRID_MEMBERS = 100_000
GRID_PAGES = 300
PER_PAGE = 50
TYPE = "base_adjustment"
ADJUST_NAME = f"{EMPLOYERS * PER_ROSTER:,} base adjustments ({EMPLOYERS} rosters of {PER_ROSTER}) submitted, " \
              "approved, applied, messaged"
GRID_NAME = f"batch-edit grid page over {GRID_MEMBERS:,} members (member API)"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filled(template: bytes, members: list[dict[str, Any]], month: str) -> bytes:
    """The template with one line per member, each column filled by what its header asks for."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    headers = [str(c.value or "") for c in sheet[1]]
    for row, member in enumerate(members, start=2):
        for column, header in enumerate(headers, start=1):
            if "账号" in header:
                value = member["member_no"]
            elif "姓名" in header:
                value = member["name"]
            elif "证件" in header:
                value = member["id_number"]
            elif "年月" in header:
                value = month
            elif "基数" in header:
                value = f"{member['base'] + 100:.2f}"
            else:
                continue
            sheet.cell(row=row, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Messages:
    """Polls notify's table for the businesses' messages (one reader, not ten inbox pollers)."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(database_url)
        self.arrived: set[str] = set()
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def run(self) -> None:
        query = sa.text("SELECT DISTINCT business_id FROM inbox_items WHERE business_type = :type AND box = :box")
        while not self.stop.wait(POLL):
            with self.engine.connect() as connection:
                found = set(connection.execute(query, {"type": TYPE, "box": MESSAGE}).scalars())
            with self.changed:
                self.arrived |= found
                self.changed.notify_all()
        self.engine.dispose()

    def wait(self, business_id: str, timeout: float = 120) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: business_id in self.arrived, timeout):
                raise TimeoutError(f"no message for business {business_id}")


def _roster(client: httpx.Client, stack: Stack, board: TaskBoard, messages: Messages, employer_no: str,
            token: str, center: str) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{stack.url('member')}/employers/{employer_no}"
    # The member list's items are {"member": {...}, "status_name", the amounts}; only 正常 members adjust.
    listed = client.get(f"{base}/members", params={"per_page": PER_ROSTER, "status": "01"}, headers=auth).json()
    members = [{**m["member"], "base": Decimal(m["member"]["base"])} for m in listed["items"]]
    month = time.strftime("%Y%m")
    template = client.get(f"{base}/rosters/{TYPE}/template", params={"option": "base"}, headers=auth)
    assert template.status_code == 200, template.text[:300]
    started = time.perf_counter()
    uploaded = client.post(f"{base}/rosters/{TYPE}/imports", params={"option": "base", "file_name": "bench.xlsx"},
                           content=_filled(template.content, members, month), headers={**auth, "Content-Type": XLSX})
    assert uploaded.status_code == 202, uploaded.text[:500]
    import_ = uploaded.json()["import"]
    while import_["status"] in ("queued", "running"):
        time.sleep(POLL)
        import_ = client.get(f"{base}/imports/{import_['id']}", headers=auth).json()["import"]
    rows = client.get(f"{base}/rosters/{TYPE}", params={"per_page": 200}, headers=auth).json()["items"]
    assert len(rows) == PER_ROSTER, (import_, len(rows))
    committed = client.post(f"{base}/rosters/{TYPE}/commit", json={"row_ids": [r["id"] for r in rows]}, headers=auth)
    assert committed.status_code == 201, committed.text[:500]
    business_id = str(committed.json()["business_id"])
    task_id = board.wait(business_id)
    done = client.post(f"{stack.url('workflow')}/tasks/{task_id}/complete", json={"decision": "approve"},
                       headers={"Authorization": f"Bearer {center}"})
    assert done.status_code == 200, done.text
    messages.wait(business_id)
    return time.perf_counter() - started


def run(stack: Stack) -> list[Result]:
    creds: dict[str, Any] = run_setup(stack, "employers", str(EMPLOYERS))
    employers = list(creds["tokens"].items())[:EMPLOYERS]
    for employer_no, _ in employers:
        run_setup(stack, "members", employer_no, str(PER_ROSTER))
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=EMPLOYERS * 2 + 4)) as client, \
            stack_peaks(stack).measure() as memory:
        board, messages = TaskBoard(client, stack.url("workflow"), creds["center"]), \
            Messages(stack.database_url("notify"))
        pollers = [threading.Thread(target=b.run, daemon=True) for b in (board, messages)]
        for poller in pollers:
            poller.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(EMPLOYERS) as pool:
            latencies = list(pool.map(lambda item: _roster(client, stack, board, messages, item[0], item[1],
                                                           creds["center"]), employers))
        elapsed = time.perf_counter() - started
        board.stop.set()
        messages.stop.set()
        for poller in pollers:
            poller.join(5)
    return [Result(
        name=ADJUST_NAME, unit="s", ours=round(elapsed, 2), goal="<= 30 s end to end", met=elapsed <= 30,
        peak_mb=memory["peak_mb"],
        details={"summary": f"each roster p50 {percentile(latencies, 50):.2f} s, slowest {max(latencies):.2f} s; "
                            "import, 保存, the handler's approval, apply and the message per roster, "
                            f"{EMPLOYERS} employers at once"},
    )]


def run_grid(stack: Stack) -> list[Result]:
    # An employer of its own, after the adjustments' ten: its 100,000 members never meet their 100 each.
    creds: dict[str, Any] = run_setup(stack, "employers", str(EMPLOYERS + 1))
    employer_no, token = list(creds["tokens"].items())[EMPLOYERS]
    seeded = run_setup(stack, "members", employer_no, str(GRID_MEMBERS))
    url = f"{stack.url('member')}/employers/{employer_no}/base-adjustment/grid"
    pages = GRID_MEMBERS // PER_PAGE
    times: list[float] = []
    with stack_peaks(stack).measure() as memory, httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for n in range(GRID_PAGES + 20):
            page = 1 + (n * 7919) % pages  # spread over the whole list, the last pages included
            started = time.perf_counter()
            response = client.get(url, params={"category": "base", "page": page, "per_page": PER_PAGE})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:300]
            assert len(response.json()["items"]) == PER_PAGE
            if n >= 20:
                times.append(elapsed * 1000)
    p99 = percentile(times, 99)
    return [Result(
        name=GRID_NAME, unit="ms p99", ours=round(p99, 2), goal="p99 < 50 ms", met=p99 < 50,
        peak_mb=memory["peak_mb"],
        details={"summary": f"p50 {percentile(times, 50):.2f} ms, p99 {p99:.2f} ms over {GRID_PAGES} pages of "
                            f"{PER_PAGE}; {GRID_MEMBERS:,} members seeded in {seeded['seeded_seconds']} s"},
    )]
