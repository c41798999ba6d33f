"""Workflow service: BPMN definitions run by SpiffWorkflow, instances and the center's user tasks."""

from hall_common.app import app_factory
from hall_common.audit import audit_blueprint
from hall_common.runtime import ServiceRuntime

from . import models, routes, tasks

RUNTIME = ServiceRuntime("workflow", models.Base, models.PLUMBING, tasks.HANDLERS)
create_app = app_factory(RUNTIME, [routes.blp, audit_blueprint(models.AuditRecord)])
