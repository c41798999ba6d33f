"""Member service: members and their business (registration, changes, base, seal and unseal)."""

from hall_common.app import app_factory
from hall_common.audit import audit_blueprint
from hall_common.runtime import ServiceRuntime

from . import adjustment_routes, change_routes, contribution_routes, models, names, policy_routes, routes, tasks

RUNTIME = ServiceRuntime("member", models.Base, models.PLUMBING, tasks.HANDLERS, housekeeping=tasks.housekeeping,
                         register_heavy=tasks.register_heavy)
create_app = app_factory(RUNTIME, [routes.blp, routes.businesses_blp, routes.rosters_blp, routes.queries_blp,
                                     change_routes.blp, policy_routes.blp, audit_blueprint(models.AuditRecord),
                                     adjustment_routes.blp, contribution_routes.blp, names.blp])
