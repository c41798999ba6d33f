"""Payment service: employer and member accounts, journal, remittance and supplementary payment."""

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime

from . import (
    businesses,
    interest_models,
    interest_routes,
    models,
    query_routes,
    receipt_routes,
    routes,
    tasks,
    verifications,
)

RUNTIME = ServiceRuntime("payment", models.Base, models.PLUMBING, tasks.HANDLERS, housekeeping=tasks.housekeeping,
                         register_heavy=tasks.register_heavy, register_tasks=tasks.register_tasks)
create_app = app_factory(RUNTIME, [routes.blp, receipt_routes.blp, verifications.blp, query_routes.queries_blp,
                                     query_routes.blp, businesses.businesses_blp, businesses.rosters_blp,
                                     interest_routes.blp, interest_routes.queries_blp])
_ = interest_models  # its table belongs to the service's metadata
