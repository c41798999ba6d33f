"""Payment service: employer and member accounts, journal, remittance and supplementary payment."""

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime

from . import models, query_routes, routes, tasks

RUNTIME = ServiceRuntime("payment", models.Base, models.PLUMBING, tasks.HANDLERS)
create_app = app_factory(RUNTIME, [routes.blp, query_routes.queries_blp, query_routes.blp])
