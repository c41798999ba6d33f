"""The auth service's keys, created on first start if absent: the EC key that signs session tokens,
and the center's CA that issues UKey certificates."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hall_common.settings import get_settings

CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "住房公积金管理中心"),
    x509.NameAttribute(NameOID.COMMON_NAME, "住房公积金管理中心 UKey CA"),
])


def _write_private(path: Path, data: bytes) -> None:
    # Written then renamed, readable by the owner only: a half-written key must never be loaded.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _new_key_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@lru_cache(maxsize=1)
def private_key_pem() -> bytes:
    path: Path = get_settings().signing_key_path
    if not path.exists():
        _write_private(path, _new_key_pem())
    return path.read_bytes()


def public_key_pem() -> str:
    key = serialization.load_pem_private_key(private_key_pem(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@lru_cache(maxsize=1)
def ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The CA key and its self-signed certificate (20 years)."""
    var = get_settings().var_path
    key_path, cert_path = var / "auth_ca_key.pem", var / "auth_ca_cert.pem"
    if not key_path.exists() or not cert_path.exists():
        key_pem = _new_key_pem()
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(CA_NAME)
            .issuer_name(CA_NAME)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=20 * 365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, key_pem)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate(cert_path.read_bytes())


def issue_certificate(
    public_key_pem: str, subject_cn: str, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    ca_key, ca_cert = ca()
    public_key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError("UKey公钥应为EC P-256密钥")
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "住房公积金单位网上服务大厅"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
        ]))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        .sign(ca_key, hashes.SHA256())
    )
