"""py_webauthn's own test vectors through the hall's checks: the registration vector passes only with its
origin, and the assertion vector against the stored counter, user verification and the relying party."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes

from hall_common import db
from services.auth import ukeys, webauthn_keys
from services.auth.models import WebAuthnCredential

from ..webauthn_support import audits, vector_challenge, webauthn_settings
from .conftest import A, B

# py_webauthn's tests (tests/test_verify_registration_response.py, "none" attestation, and
# tests/test_verify_authentication_response.py, an EC2 key): rp id localhost, origin localhost:5000.
VECTOR_ORIGIN = "http://localhost:5000"
REG_CHALLENGE = "TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw"
REG_CREDENTIAL = {
    "id": "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w",
    "rawId": "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w",
    "response": {
        "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NF"
                             "AAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIodzr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gk"
                             "TjmOPeJO0N8a7P-lAQIDJiABIVggSFbUJF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoI"
                             "O9xWHtJygo2jfDmHl-_eKFRLDA",
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRaWS1xR3NGcUtuSE00bmds"
                          "cXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZmbkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJo"
                          "dHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
    },
    "type": "public-key", "clientExtensionResults": {}, "transports": ["nfc", "usb"],
}
AUTH_CHALLENGE = "xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA"
AUTH_ID = "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q"
AUTH_CREDENTIAL = {
    "id": AUTH_ID, "rawId": AUTH_ID, "type": "public-key", "clientExtensionResults": {},
    "response": {
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg",
        "clientDataJSON": "eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52"
                          "TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGht"
                          "IjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ",
        "signature": "MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo",
    },
}
AUTH_PUBLIC_KEY = ("pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ng"
                   "tkx0vGpvPHI")


def test_the_librarys_registration_vector_passes_the_halls_checks_only_with_its_origin(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        webauthn_settings(monkeypatch, origins="http://localhost:8000")
        db.session().add(vector_challenge(A, REG_CHALLENGE))
        db.session().commit()
        with pytest.raises(Exception, match="安全密钥登记失败"):  # the origin is not one of the hall's
            webauthn_keys.register(A, A, f"vector-{len(REG_CHALLENGE)}-{A}", REG_CREDENTIAL, "钥匙", "测试")
        db.session().rollback()
        webauthn_settings(monkeypatch, origins=f"http://localhost:8000,{VECTOR_ORIGIN}", user_verification="preferred")
        row = vector_challenge(B, REG_CHALLENGE)
        db.session().add(row)
        db.session().commit()
        key = webauthn_keys.register(B, B, row.id, REG_CREDENTIAL, "钥匙", "测试")
        db.session().commit()
        assert key.sign_count == 23 and key.aaguid == "00000000-0000-0000-0000-000000000000"
        assert key.credential_id == base64url_to_bytes(REG_CREDENTIAL["rawId"])  # type: ignore[arg-type]
        assert [a.detail for a in audits("webauthn_register")] == ["登记安全密钥“钥匙”（测试）"]
        # The challenge was spent by the refused try: single use whatever the outcome.
        with pytest.raises(Exception, match="登录挑战已使用"):
            webauthn_keys.register(A, A, f"vector-{len(REG_CHALLENGE)}-{A}", REG_CREDENTIAL, "钥匙", "测试")


@pytest.mark.parametrize(("stored", "settings", "passes"), [
    (77, {"user_verification": "preferred"}, True),
    (78, {"user_verification": "preferred"}, False),  # the count did not grow: a clone
    (77, {"user_verification": "required"}, False),  # the vector's user was not verified (no PIN)
    (77, {"user_verification": "preferred", "rp_id": "hall.example.cn"}, False),
])
def test_the_librarys_assertion_vector_against_the_stored_counter_and_thewebauthn_settings(
    app: Flask, monkeypatch: pytest.MonkeyPatch, stored: int, settings: dict[str, str], passes: bool
) -> None:
    with app.app_context():
        webauthn_settings(monkeypatch, origins=VECTOR_ORIGIN, **settings)
        session = db.session()
        session.add(WebAuthnCredential(login_name=A, credential_id=base64url_to_bytes(AUTH_ID),
                                       public_key=base64url_to_bytes(AUTH_PUBLIC_KEY), sign_count=stored,
                                       aaguid="00000000-0000-0000-0000-000000000000", name="旧钥匙"))
        session.commit()
        key = webauthn_keys.login_key(A, A, vector_challenge(A, AUTH_CHALLENGE, ukeys.KEY_LOGIN), AUTH_CREDENTIAL)
        session.commit()
        assert (key is not None) is passes
        stored_now = session.scalar(select(WebAuthnCredential.sign_count))
        assert stored_now == (78 if passes else stored)
        regressions = audits("webauthn_counter_regression")
        assert len(regressions) == (1 if stored == 78 else 0)
        if regressions:
            assert "签名计数器未增加（已记录78，本次78）" in regressions[0].detail


