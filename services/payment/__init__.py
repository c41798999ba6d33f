"""Payment service: employer and member accounts, journal, remittance and supplementary payment."""

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime

from . import businesses, models, routes, tasks

RUNTIME = ServiceRuntime("payment", models.Base, models.PLUMBING, tasks.HANDLERS, housekeeping=tasks.housekeeping,
                         register_heavy=tasks.register_heavy)
create_app = app_factory(RUNTIME, [routes.blp, businesses.businesses_blp, businesses.rosters_blp])
