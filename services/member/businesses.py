"""The member service's roster businesses: registration, seal, unseal and base adjustment, on one roster
book."""

from __future__ import annotations

from hall_common.business import BusinessRegistry
from hall_common.roster import RosterBook

from .adjustment import BASE_ADJUSTMENT
from .models import ROSTER
from .registration import REGISTRATION
from .statuses import SEALING_ROSTER, UNSEALING_ROSTER

BUSINESSES = BusinessRegistry("member")
BOOK = RosterBook("member", ROSTER, BUSINESSES)
for _roster in (REGISTRATION, SEALING_ROSTER, UNSEALING_ROSTER, BASE_ADJUSTMENT):
    BOOK.add(_roster)
