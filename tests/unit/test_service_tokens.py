"""Service tokens (downstream systems, a service's own worker) and the employer directory they page."""

from __future__ import annotations

import time

import jwt
import pytest

from deploy.demo_data import SECOND_EMPLOYER_NO as OTHER_EMPLOYER_NO
from hall_common.security import KeyProvider, verify_token

from .conftest import EMPLOYER_NO, auth, make_app, token_for


def test_an_issued_service_token_carries_exactly_its_permissions_and_is_recorded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from services.auth.keys import public_key_pem
    from services.auth.service_tokens import issue, main

    make_app("auth")  # the auth database the command records into (it runs on the auth machine)
    token = issue("core-accounting", ["push"], 30)
    principal = verify_token(token, KeyProvider(public_key_pem()))
    assert (principal.role, principal.login_name, principal.permissions) == ("service", "core-accounting",
                                                                             frozenset({"push"}))
    assert principal.employer_no is None and principal.token_id
    assert 29 * 86400 < principal.expires_at - time.time() <= 30 * 86400
    with pytest.raises(ValueError, match="permissions"):
        issue("x", ["center_admin"], 30)
    with pytest.raises(ValueError, match="days"):
        issue("x", ["push"], 0)
    assert main(["issue", "core", "--permission", "push", "--days", "5000"]) == 2
    # The name is what the services record as the sender: bounded, and no control or odd characters.
    for name in ("x" * 51, "", "core accounting", "core\x00", "-core", "核心系统"):
        with pytest.raises(ValueError, match="name"):
            issue(name, ["push"], 30)
    assert issue("c" * 50, ["push"], 30)
    capsys.readouterr()
    # Every issued token is recorded (never the token itself): the command lists them by id.
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert principal.token_id in listed and "core-accounting  push" in listed and listed.count("active") == 2
    assert token not in listed


def test_the_own_token_file_is_written_once_recorded_and_renewed_near_its_expiry_or_when_withdrawn() -> None:
    from hall_common.service_tokens import own_token
    from services.auth import token_registry
    from services.auth.service_tokens import ensure_own_token, token_path

    auth = make_app("auth")
    assert ensure_own_token("notify", ["employer_list"]) is True
    first = own_token("notify")
    claims = jwt.decode(first, options={"verify_signature": False})
    assert claims["perms"] == ["employer_list"]
    with auth.app_context():
        row = token_registry.find(claims["jti"])
        assert row is not None and (row.name, row.issued_by) == ("notify", "deploy")
    assert ensure_own_token("notify", ["employer_list"]) is False
    assert ensure_own_token("notify", ["employer_list"], renew_within_days=400) is True
    assert own_token("notify") != first
    # A withdrawn own token is replaced at the next deploy.prepare.
    second = jwt.decode(own_token("notify"), options={"verify_signature": False})["jti"]
    with auth.app_context():
        token_registry.withdraw("center01", second)
    assert ensure_own_token("notify", ["employer_list"]) is True
    # A file written before tokens were recorded is recorded (so it can be withdrawn), not replaced.
    with auth.app_context():
        legacy, legacy_claims = token_registry.sign("notify", ["employer_list"], 365)
    token_path("notify").write_text(legacy)
    assert ensure_own_token("notify", ["employer_list"]) is False
    with auth.app_context():
        assert token_registry.find(legacy_claims["jti"]) is not None
    token_path("notify").unlink()
    with pytest.raises(Exception, match="服务凭证未配置"):
        own_token("notify")


def test_the_directory_pages_by_key_for_the_center_and_listing_services_only() -> None:
    app = make_app("employer")
    client = app.test_client()
    lister = auth(token_for("service", None, perms=("employer_list",), login_name="notify"))
    everyone = client.get("/employers", headers=lister).get_json()
    numbers = [item["employer_no"] for item in everyone["items"]]
    assert EMPLOYER_NO in numbers and OTHER_EMPLOYER_NO in numbers and numbers == sorted(numbers)
    assert everyone["next_after"] is None
    first = client.get("/employers?limit=1", headers=lister).get_json()
    assert [i["employer_no"] for i in first["items"]] == numbers[:1] and first["next_after"] == numbers[0]
    second = client.get(f"/employers?limit=1&after={first['next_after']}", headers=lister).get_json()
    assert [i["employer_no"] for i in second["items"]] == numbers[1:2]
    only = client.get(f"/employers?employer_no={OTHER_EMPLOYER_NO}&employer_no=999", headers=lister).get_json()
    assert [i["employer_no"] for i in only["items"]] == [OTHER_EMPLOYER_NO]
    assert client.get("/employers", headers=auth(token_for("center", None))).status_code == 200
    for refused in (auth(token_for("service", None, perms=("push",), login_name="core")), auth(token_for())):
        answer = client.get("/employers", headers=refused)
        assert answer.status_code == 403 and answer.get_json()["message"] == "当前账号无权进行该操作"
    # A service token is no employer's: the employer's own routes refuse it.
    assert client.get(f"/employers/{EMPLOYER_NO}", headers=lister).status_code == 403
    assert client.get("/employers?limit=1001", headers=lister).status_code == 422
