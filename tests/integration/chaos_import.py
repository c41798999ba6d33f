"""The chaos run's heavy job (tests/integration/test_chaos.py): a large member import, running on the
heavy worker when that worker is SIGKILLed, so the kill lands mid-job. Its job comes back by Redis
once the heavy queue's visibility timeout has passed (the run's stack sets it short) and runs again
from the start: afterwards the import has finished once and its rows are in the roster once."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook

from deploy.stack import Stack

from .chaos_support import FIRST_MONTH, Databases, new_id_number, open_employer, patient
from .helpers import wait_for

IMPORTER = "800800098"  # an employer of its own: its draft roster stays out of the businesses' way
ROWS = 4000  # a few seconds of the heavy worker's time, well over HALL_IMPORT_INLINE_BYTES
ATTEMPTS = 3
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROSTER = f"/employers/{IMPORTER}/rosters/member_registration"


class KilledImport:
    """The import the heavy worker is killed under, and what it must end as."""

    def __init__(self, stack: Stack, dbs: Databases) -> None:
        self.dbs = dbs
        self.employer = open_employer(stack, dbs, IMPORTER, 98)
        self.import_id = 0  # the one the kill landed in
        self.imports: list[int] = []  # every one uploaded (those the kill missed ran undisturbed)
        self.missed = 0
        self.rows = ROWS
        self.at_kill: dict[str, Any] = {}
        self.killed_at: datetime | None = None

    def _workbook(self) -> bytes:
        """The roster's own template with ROWS new members, none in the roster yet."""
        template = self.employer.call("GET", "member", f"{ROSTER}/template", params={"option": "12"})
        assert template.status_code == 200, template.text
        book = load_workbook(io.BytesIO(template.content))
        for index in range(ROWS):
            book.worksheets[0].append([f"导入{index}", None, new_id_number(), "4000", FIRST_MONTH, None])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def _view(self, import_id: int = 0) -> dict[str, Any]:
        return dict(self.employer.get("member", f"/employers/{IMPORTER}/imports/{import_id or self.import_id}")
                    ["import"])

    def _start_and_wait_running(self) -> None:
        """Upload the file and wait until the heavy worker has taken it (the row says running)."""
        answer = self.employer.call("POST", "member", f"{ROSTER}/imports?option=12&file_name=chaos.xlsx",
                                    content=self._workbook(), headers={"Content-Type": XLSX})
        assert answer.status_code == 202, answer.text
        self.import_id = int(answer.json()["import"]["id"])
        self.imports.append(self.import_id)
        # Polled often: the job takes seconds, and the kill should land early in it.
        wait_for(lambda: self._view()["status"] == "running", 60, "the large import running on the heavy worker",
                 every=0.05)

    def kill_mid_job(self, kill: Callable[[], None], restart: Callable[[], None]) -> float:
        """Kill the heavy worker (and start it again) while it runs the import; the kill's moment.
        A job that ended between the last look and the kill is tried again with another file."""
        for _ in range(ATTEMPTS):
            self._start_and_wait_running()
            kill()
            killed = time.monotonic()
            self.killed_at = datetime.now(UTC)
            self.at_kill = self._view()
            restart()
            if self.at_kill["status"] == "running":
                return killed
            self.missed += 1
        raise AssertionError(f"the kill missed the import {ATTEMPTS} times: {self.at_kill}")

    def problems(self) -> list[str]:
        """After the run: each import added, its rows staged once (not once per run of its job)."""
        found = []
        for import_id in self.imports:
            def settled(import_id: int = import_id) -> dict[str, Any] | None:
                view = self._view(import_id)
                return view if view["status"] not in ("queued", "running") else None

            view = patient(settled, f"import {import_id} to finish", timeout=180)
            if (view["status"], view["good"], view["bad"]) != ("added", ROWS, 0):
                found.append(f"import {import_id}: {view['status']} {view['message']}, "
                             f"{view['good']} good, {view['bad']} bad")
            staged = self.dbs.scalar("member", "SELECT count(*) FROM roster_rows WHERE import_id = :i", i=import_id)
            if staged != ROWS:
                found.append(f"import {import_id}: {staged} rows staged, wanted {ROWS}")
        listed = self.employer.get("member", ROSTER)["total"]
        if listed != ROWS * len(self.imports):
            found.append(f"{listed} rows in the roster, wanted {ROWS} from each of {len(self.imports)} imports")
        return found

    def recovery_seconds(self) -> float:
        """From the kill to the import's last move (its row's updated_at, stored in UTC)."""
        finished = self.dbs.scalar("member", "SELECT updated_at FROM roster_imports WHERE id = :i", i=self.import_id)
        if isinstance(finished, str):  # SQLite hands the timestamp back as text
            finished = datetime.fromisoformat(finished)
        assert self.killed_at is not None
        return (finished.replace(tzinfo=UTC) - self.killed_at).total_seconds()
