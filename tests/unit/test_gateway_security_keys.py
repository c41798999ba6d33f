"""The gateway's part of the security key login and enrolment (the services behind it faked): what it
sends to the auth service, whatever the browser posts."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError


def _faked(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def fake_post(self: ServiceClient, path: str, json: object = None) -> object:
        sent.append((path, json))
        if isinstance(answer, ServiceError):
            raise answer
        return answer

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    return sent


LOGIN = {"employer_no": "100100001", "login_name": "100100001", "password": "Hall2026ok", "challenge_id": "c1"}


def test_the_login_form_with_a_keys_answer_goes_to_the_key_login_with_the_same_refusal(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = "登录失败：单位账号、登录名称、密码或UKey验证未通过，还可尝试4次"
    sent = _faked(monkeypatch, ServiceError("auth", 401, refusal))
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    page = client.post("/login", data={**LOGIN, "credential": '{"id": "k1", "response": {}}'})
    assert sent == [("/auth/webauthn/login", {**LOGIN, "credential": {"id": "k1", "response": {}}})]
    assert refusal in page.get_data(as_text=True)
    # Not a JSON object (a tampered form): an empty answer, which the auth service refuses as a wrong key.
    for tampered in ("[1]", "not json"):
        client.post("/login", data={**LOGIN, "credential": tampered})
        assert sent[-1] == ("/auth/webauthn/login", {**LOGIN, "credential": {}})
    # Without a key's answer the form is the UKey's, as before.
    client.post("/login", data={**LOGIN, "certificate": "PEM", "signature": "sig"})
    assert sent[-1] == ("/auth/login", {**LOGIN, "certificate": "PEM", "signature": "sig"})


def test_the_key_logins_options_pass_only_the_names(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _faked(monkeypatch, {"challenge_id": "c1", "options": {"challenge": "x"}})
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post("/login/webauthn/options", json={"employer_no": " 1 ", "login_name": "1", "extra": "x"})
    assert answer.status_code == 200 and answer.get_json()["challenge_id"] == "c1"
    assert sent == [("/auth/webauthn/login-options", {"employer_no": "1", "login_name": "1"})]
    assert client.post("/login/webauthn/options", data="[1]", content_type="application/json").status_code == 200
    assert sent[-1] == ("/auth/webauthn/login-options", {"employer_no": "", "login_name": ""})


def test_the_enrolment_with_a_code_passes_the_ceremony_and_answers_refusals_as_json(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _faked(monkeypatch, ServiceError("auth", 409, "登记码无效、已使用或已过期，请联系中心重新发放"))
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post("/security-keys/enrol", json={"login_name": "100100002", "code": "AAAA", "name": " 钥匙 ",
                                                        "challenge_id": "c2", "credential": "not an object"})
    assert answer.status_code == 409
    assert answer.get_json()["message"] == "登记码无效、已使用或已过期，请联系中心重新发放"
    assert sent == [("/auth/webauthn/enrolment", {"login_name": "100100002", "code": "AAAA", "name": "钥匙",
                                                  "challenge_id": "c2", "credential": {}})]
