"""The payment service's roster businesses (补缴 now) on one roster book, with their routes."""

from __future__ import annotations

from hall_common.business import BusinessRegistry
from hall_common.roster import RosterBook
from hall_common.roster_api import roster_blueprint

from .supplement import SUPPLEMENT
from .supplement_models import ROSTER

BUSINESSES = BusinessRegistry("payment")
BOOK = RosterBook("payment", ROSTER, BUSINESSES)
BOOK.add(SUPPLEMENT)
# GET /businesses/<type>/<id> (the center's task page reads a business's rows) and the roster's routes.
businesses_blp = BUSINESSES.blueprint()
rosters_blp = roster_blueprint(BOOK)
