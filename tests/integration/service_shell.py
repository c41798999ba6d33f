"""Run one step inside a service of the running stack, as its own code does (a child process with the
stack's environment): ``python -m tests.integration.service_shell <service> emit <type> <data-json>``
writes an event to the service's outbox and relays it; ``... <service> resend`` runs the relay's
receipt check (events still without a consumer's receipt are sent again); ``... workflow deploy <key>
<bpmn-file>`` deploys a process definition version."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from hall_common import db
from hall_common.outbox import emit, relay


def main(service: str, action: str, *args: str) -> None:
    app = importlib.import_module(f"services.{service}").create_app()
    with app.app_context():
        session = db.session()
        if action == "emit":
            event = emit(session, args[0], json.loads(args[1]))
            session.commit()
            relay()
            print(event["id"])
        elif action == "resend":
            relay(verify=True)
            print("checked")
        elif action == "deploy":
            from services.workflow import definitions

            definition = definitions.install(args[0], Path(args[1]).read_text(encoding="utf-8"), "test")
            session.commit()
            print(definition.version)
        else:
            raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main(*sys.argv[1:])
