"""Employer service: the employer profile, its change requests and change history."""

from hall_common.app import app_factory
from hall_common.queries import query_blueprint
from hall_common.runtime import ServiceRuntime

from . import closure_routes, directory, models, queries, routes, tasks

RUNTIME = ServiceRuntime("employer", models.Base, models.PLUMBING, tasks.HANDLERS)
create_app = app_factory(RUNTIME, [routes.blp, routes.businesses_blp, directory.blp, closure_routes.blp,
                                     query_blueprint("employer", queries.QUERIES)])
