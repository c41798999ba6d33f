"""Payment service: employer and member accounts, journal, remittance and supplementary payment."""

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime

from . import interest_jobs, interest_models, interest_routes, models, routes, tasks

RUNTIME = ServiceRuntime("payment", models.Base, models.PLUMBING, tasks.HANDLERS,
                         register_heavy=interest_jobs.register_heavy)
create_app = app_factory(RUNTIME, [routes.blp, interest_routes.blp, interest_routes.queries_blp])
_ = interest_models  # its table belongs to the service's metadata
