"""Events this service consumes: the outcomes of its businesses (补缴); its heavy jobs (imports)."""

from __future__ import annotations

from hall_common import roster_imports
from hall_common.roster_api import heavy_tasks
from hall_common.runtime import Handler

from .businesses import BOOK, BUSINESSES

# Outcomes dispatch by business type through the registry.
HANDLERS: dict[str, Handler] = BUSINESSES.outcome_handlers()
register_heavy = heavy_tasks(BOOK)


def housekeeping() -> None:
    roster_imports.housekeeping(BOOK)
