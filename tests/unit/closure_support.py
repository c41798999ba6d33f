"""The in-process neighbourhood of 零余额销户: the employer service asks the payment, member and workflow
services whether anything blocks a closure, with its own ``closure_check`` token. Shared by the closure
tests and the business races."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask

from hall_common import db
from hall_common.client import ServiceClient
from hall_common.settings import reset_settings
from services.employer.models import Employer

from .conftest import EMPLOYER_NO, make_app, token_for

CLEAN_NO = "100100009"  # an employer with no account, no members and no business: nothing left


def closure_apps(monkeypatch: pytest.MonkeyPatch,
                 employer: Callable[[], Flask] = lambda: make_app("employer")) -> dict[str, Flask]:
    """The four apps, the employer service (made by ``employer``) holding a clean employer beside the demo's, and every
    service call answered by the called app in process."""
    monkeypatch.setenv("HALL_SERVICE_TOKEN", token_for("service", None, perms=("closure_check",),
                                                       login_name="employer"))
    reset_settings()
    made = {name: make_app(name) for name in ("payment", "member", "workflow")}
    made["employer"] = employer()
    with made["employer"].app_context():
        demo = db.session().get(Employer, EMPLOYER_NO)
        assert demo is not None
        db.session().add(Employer(employer_no=CLEAN_NO, name="太原市示例餐饮有限公司", credit_code=demo.credit_code,
                                  open_date=date(2020, 1, 1), employer_ratio=demo.employer_ratio,
                                  personal_ratio=demo.personal_ratio))
        db.session().commit()

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        answer = made[self.service].test_client().open(path, method=method, query_string=params, json=json,
                                                       headers=self.headers)
        if answer.status_code >= 400:
            raise self._error(answer.status_code, answer.data)
        return answer.get_json()

    monkeypatch.setattr(ServiceClient, "request", request)
    return made
