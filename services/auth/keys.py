"""The auth service's keys: the EC key that signs session tokens, and the center's CA that issues UKey
certificates.

The token-signing key is created on first start if absent (a new one only ends the open sessions).
The CA is never created at start: a new CA would silently invalidate every UKey ever issued. It is
created once by an explicit step, ``python -m services.auth.keys init-ca`` (``deploy/prepare.py`` runs it
for ``make run`` and the test stack), which refuses to overwrite an existing CA; the auth service
refuses to start if the CA is missing or its key and certificate do not match.

The CA key is a PEM file under ``var/`` or, when ``HALL_CA_PKCS11_MODULE`` is set, a P-256 key that
never leaves a PKCS#11 token (an HSM; SoftHSM2 in development), which signs the certificates itself.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hall_common.settings import get_settings

CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "住房公积金管理中心"),
    x509.NameAttribute(NameOID.COMMON_NAME, "住房公积金管理中心 UKey CA"),
])
CA_KEY_FILE, CA_CERT_FILE = "auth_ca_key.pem", "auth_ca_cert.pem"
CA_KEY_ID = b"hall-ukey-ca"
INIT_HINT = "create it once with `python -m services.auth.keys init-ca` (make run does this on a new machine)"


class CAError(RuntimeError):
    """The CA cannot be used or created; the message says what to do."""


def _write_private(path: Path, data: bytes, overwrite: bool = True) -> None:
    """Write a file readable by the owner only, all or nothing: a half-written key is never loaded.

    Without ``overwrite`` an existing file is kept and FileExistsError raised (a hard link, unlike a
    rename, never replaces its target), so two processes creating one key cannot both win.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as tmp_file:
            tmp_file.write(data)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# -- the token-signing key ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def private_key_pem() -> bytes:
    path: Path = get_settings().signing_key_path
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first: use that one
            _write_private(path, _pem(_new_key()), overwrite=False)
    return path.read_bytes()


def public_key_pem() -> str:
    key = serialization.load_pem_private_key(private_key_pem(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


# -- the CA key: a file or a key on a PKCS#11 token ------------------------------------------------------

class CAKey(Protocol):
    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA-with-SHA256 signature of data."""


@dataclass(frozen=True)
class FileKey:
    key: ec.EllipticCurvePrivateKey

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


class TokenKey:
    """The CA key on a PKCS#11 token, found by its label; the private half never leaves the token."""

    _lock = threading.Lock()  # one operation on the token at a time

    def __init__(self, module: str, token_label: str, pin: str, key_label: str) -> None:
        self.module, self.token_label, self.pin, self.key_label = module, token_label, pin, key_label

    def _session(self, rw: bool = False) -> Any:
        import pkcs11

        try:
            token = pkcs11.lib(self.module).get_token(token_label=self.token_label)
            return token.open(user_pin=self.pin, rw=rw)
        except (OSError, RuntimeError, pkcs11.PKCS11Error) as exc:
            raise CAError(f"cannot open the CA token {self.token_label!r} with the PKCS#11 module {self.module} "
                          f"(HALL_CA_PKCS11_*): {type(exc).__name__} {exc}") from exc

    def _objects(self, session: Any, object_class: Any) -> list[Any]:
        from pkcs11 import Attribute

        return list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: self.key_label}))

    def exists(self) -> bool:
        from pkcs11 import ObjectClass

        with self._lock, self._session() as session:
            return bool(self._objects(session, ObjectClass.PRIVATE_KEY))

    def _one(self, session: Any, object_class: Any) -> Any:
        found = self._objects(session, object_class)
        if len(found) != 1:
            raise CAError(f"the CA token {self.token_label!r} holds {len(found)} objects labelled "
                          f"{self.key_label!r} ({object_class.name}), expected 1; {INIT_HINT}")
        return found[0]

    def public_key(self) -> ec.EllipticCurvePublicKey:
        from pkcs11 import ObjectClass
        from pkcs11.util.ec import encode_ec_public_key

        with self._lock, self._session() as session:
            der = encode_ec_public_key(self._one(session, ObjectClass.PUBLIC_KEY))
        key = serialization.load_der_public_key(der)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CAError(f"the CA key {self.key_label!r} on the token is not an EC key")
        return key

    def sign(self, data: bytes) -> bytes:
        # Tokens such as SoftHSM 2.6 lack ECDSA_SHA256: hash here, sign the digest, DER-encode r||s.
        from pkcs11 import Mechanism, ObjectClass
        from pkcs11.util.ec import encode_ecdsa_signature

        with self._lock, self._session() as session:
            private = self._one(session, ObjectClass.PRIVATE_KEY)
            raw = private.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
        return bytes(encode_ecdsa_signature(raw))

    def generate(self) -> None:
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        with self._lock, self._session(rw=True) as session:
            parameters = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            parameters.generate_keypair(
                store=True, label=self.key_label, id=CA_KEY_ID,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )


def _token_key() -> TokenKey | None:
    settings = get_settings()
    if not settings.ca_pkcs11_module:
        return None
    return TokenKey(settings.ca_pkcs11_module, settings.ca_pkcs11_token_label, settings.ca_pkcs11_pin,
                    settings.ca_pkcs11_key_label)


def ca_paths() -> tuple[Path, Path]:
    var = get_settings().var_path
    return var / CA_KEY_FILE, var / CA_CERT_FILE


def sign_certificate(builder: x509.CertificateBuilder, key: CAKey) -> x509.Certificate:
    """Sign a certificate with a key that cryptography cannot hold (a token's), or any other.

    cryptography's builder signs only with its own key objects: a throwaway P-256 key gives the
    to-be-signed part with the right algorithm (ecdsa-with-SHA256), the CA key signs those bytes, and
    asn1crypto assembles the certificate, which is checked against the CA key before it is returned.
    """
    draft = asn1_x509.Certificate.load(
        builder.sign(_new_key(), hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    )
    tbs = draft["tbs_certificate"].dump()
    certificate = x509.load_der_x509_certificate(asn1_x509.Certificate({
        "tbs_certificate": draft["tbs_certificate"],
        "signature_algorithm": draft["signature_algorithm"],
        "signature_value": key.sign(tbs),
    }).dump())
    key.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    return certificate


# -- the CA -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateAuthority:
    key: CAKey
    certificate: x509.Certificate

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        return sign_certificate(builder.issuer_name(self.certificate.subject), self.key)


@lru_cache(maxsize=1)
def ca() -> CertificateAuthority:
    """The CA key and certificate, checked to belong together; CAError if missing or mismatched."""
    key_path, cert_path = ca_paths()
    token = _token_key()
    if not cert_path.exists():
        raise CAError(f"the UKey CA certificate {cert_path} is missing: restore it from the backup, or, "
                      f"on a new installation, {INIT_HINT}")
    key: CAKey
    if token is None:
        if not key_path.exists():
            raise CAError(f"the UKey CA key {key_path} is missing: restore it from the backup (a new CA "
                          f"would invalidate every issued UKey), or, on a new installation, {INIT_HINT}")
        try:
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except ValueError as exc:
            raise CAError(f"the UKey CA key {key_path} cannot be read: {exc}") from exc
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise CAError(f"the UKey CA key {key_path} is not an EC key")
        key = FileKey(loaded)
    else:
        key = token
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as exc:
        raise CAError(f"the UKey CA certificate {cert_path} cannot be read: {exc}") from exc
    probe = b"hall-ca-probe" + os.urandom(16)
    try:
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        public.verify(key.sign(probe), probe, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        where = f"the token {token.token_label!r}" if token else str(key_path)
        raise CAError(f"the UKey CA key in {where} does not match the certificate {cert_path}: restore the "
                      f"pair that issued the UKeys") from exc
    return CertificateAuthority(key, certificate)


def ca_exists() -> bool:
    """Whether any part of a CA is present (then ``init_ca`` refuses)."""
    key_path, cert_path = ca_paths()
    token = _token_key()
    return cert_path.exists() or (token.exists() if token else key_path.exists())


def init_ca(years: int = 20) -> x509.Certificate:
    """Create the CA: its key (in a file or on the token) and its self-signed certificate."""
    key_path, cert_path = ca_paths()
    token = _token_key()
    if ca_exists():
        raise CAError(f"a UKey CA already exists ({cert_path} or its key): it is never replaced, since every "
                      f"issued UKey depends on it; remove it by hand only to start a new installation")
    key: CAKey
    if token is None:
        private = _new_key()
        _write_private(key_path, _pem(private), overwrite=False)
        key = FileKey(private)
    else:
        token.generate()
        key = token
    now = datetime.now(UTC)
    certificate = sign_certificate(
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(CA_NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=years * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True),
        key,
    )
    _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM), overwrite=False)
    ca.cache_clear()
    return certificate


def issue_certificate(
    public_key_pem: str, subject_cn: str, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    authority = ca()
    public_key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError("UKey公钥应为EC P-256密钥")
    return authority.sign(
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "住房公积金单位网上服务大厅"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
        ]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.auth.keys", description="The auth service's keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-ca", help="create the center's UKey CA once (refuses to replace one)")
    commands.add_parser("check-ca", help="check that the CA key and certificate are present and match")
    args = parser.parse_args(argv)
    try:
        if args.command == "init-ca":
            certificate = init_ca()
            print(f"created the UKey CA {certificate.subject.rfc4514_string()} in {ca_paths()[1]}")
        else:
            print(f"the UKey CA is usable: {ca().certificate.subject.rfc4514_string()}")
    except CAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
