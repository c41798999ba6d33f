"""A software FIDO2 authenticator for the unit tests: it answers navigator.credentials.create() and .get()
as a browser would post them (JSON, base64url), with a P-256 key, its own signature counter, and the
flags a test chooses. The browser tests use Chromium's virtual authenticator instead."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

from hall_common import db
from hall_common.settings import reset_settings
from services.auth import ukeys
from services.auth.models import AuditRecord, Challenge

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"
UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Attester:
    """An authenticator vendor's attestation: its root, and the batch certificate its keys sign with."""
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def make(cls, vendor: str) -> Attester:
        root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        root = _certificate(f"{vendor} Attestation Root", root_key, root_key.public_key(), None, ca=True)
        leaf = _certificate(f"{vendor} Batch", root_key, key.public_key(), root, ca=False)
        return cls(root_key, root, key, leaf)

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def _certificate(name: str, signer: ec.EllipticCurvePrivateKey, public: ec.EllipticCurvePublicKey,
                 issuer: x509.Certificate | None, *, ca: bool) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, name.split()[0]),
                         x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer.subject if issuer is not None else subject).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))


@dataclass
class SoftKey:
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0
    user_verified: bool = True
    aaguid: bytes = bytes(16)

    def _cose(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _flags(self) -> int:
        return UP | (UV if self.user_verified else 0)

    def _client_data(self, kind: str, options: dict[str, Any], origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"], "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], origin: str = ORIGIN, rp_id: str = RP_ID,
               fmt: str = "none", attestation: Attester | None = None) -> dict[str, Any]:
        """The answer to navigator.credentials.create(options): attestation "none", or "packed" carrying
        this model's AAGUID, signed by the ``attestation`` certificate (x5c) or, without, by the
        credential's own key (self attestation)."""
        data = self._client_data("webauthn.create", options, origin)
        attested = self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose()
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags() | AT])
                     + struct.pack(">I", self.sign_count) + attested)
        statement: dict[str, Any] = {}
        if fmt == "packed":
            signed = auth_data + hashlib.sha256(data).digest()
            signer = attestation.key if attestation is not None else self.private_key
            statement = {"alg": -7, "sig": signer.sign(signed, ec.ECDSA(hashes.SHA256()))}
            if attestation is not None:
                statement["x5c"] = [attestation.certificate.public_bytes(serialization.Encoding.DER)]
        attestation = encode_cbor({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return {"id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": bytes_to_base64url(data),
                             "attestationObject": bytes_to_base64url(attestation), "transports": ["usb"]}}

    def get(self, options: dict[str, Any], origin: str = ORIGIN, rp_id: str = RP_ID) -> dict[str, Any]:
        """The answer to navigator.credentials.get(options): the counter moves on by one."""
        self.sign_count += 1
        data = self._client_data("webauthn.get", options, origin)
        rp_hash = hashlib.sha256(rp_id.encode()).digest()
        auth_data = rp_hash + bytes([self._flags()]) + struct.pack(">I", self.sign_count)
        signature = self.private_key.sign(auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": bytes_to_base64url(data),
                             "authenticatorData": bytes_to_base64url(auth_data),
                             "signature": bytes_to_base64url(signature), "userHandle": None}}

    def clone(self, sign_count: int) -> SoftKey:
        """The same key copied into another authenticator whose counter stands at ``sign_count``."""
        return SoftKey(self.private_key, self.credential_id, sign_count, self.user_verified, self.aaguid)


def challenge_of(options: dict[str, Any]) -> bytes:
    return base64url_to_bytes(options["challenge"])


def webauthn_settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"HALL_WEBAUTHN_{name.upper()}", value)
    reset_settings()


def vector_challenge(login_name: str, challenge: str, purpose: str = ukeys.KEY_REGISTER) -> Challenge:
    row = Challenge(id=f"vector-{len(challenge)}-{login_name}", login_name=login_name, created_at=db.utcnow(),
                    purpose=purpose,
                    nonce=base64.b64encode(base64url_to_bytes(challenge)).decode(),
                    expires_at=db.utcnow().replace(year=2099))
    return row


def audits(action: str) -> list[AuditRecord]:
    return list(db.session().scalars(select(AuditRecord).where(AuditRecord.action == action)))
