"""The USB key through python-pkcs11, with any vendor's PKCS#11 module.

SoftHSM 2.6 has no ECDSA_SHA256 mechanism, so the data is hashed here and signed with plain ECDSA;
the token returns r||s, which is encoded as DER for X.509 verifiers.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature, encode_named_curve_parameters

KEY_LABEL = "hall-ukey"
KEY_ID = b"hall-ukey-1"


class TokenError(Exception):
    """A problem the operator can act on, in Chinese."""


@lru_cache(maxsize=4)
def _library(module_path: str) -> Any:
    return pkcs11.lib(module_path)


class UKeyToken:
    def __init__(self, module_path: str, token_label: str | None = None) -> None:
        self.module_path = module_path
        self.token_label = token_label or None
        self._lock = threading.Lock()  # one operation on the token at a time

    def _token(self) -> Any:
        try:
            library = _library(self.module_path)
        except (OSError, RuntimeError, pkcs11.PKCS11Error) as exc:
            raise TokenError(f"无法加载UKey驱动（PKCS#11模块）：{self.module_path}") from exc
        slots = library.get_slots(token_present=True)
        for slot in slots:
            token = slot.get_token()
            if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED and (
                self.token_label is None or token.label == self.token_label
            ):
                return token
        raise TokenError("未检测到UKey，请插入UKey")

    def _open(self, pin: str | None, rw: bool = False) -> Any:
        try:
            return self._token().open(user_pin=pin, rw=rw)
        except pkcs11.PinIncorrect as exc:
            raise TokenError("UKey密码错误") from exc
        except pkcs11.PinLocked as exc:
            raise TokenError("UKey密码已锁定，请联系中心") from exc
        except (pkcs11.PinLenRange, pkcs11.ArgumentsBad) as exc:
            raise TokenError("UKey密码格式不正确") from exc

    def info(self) -> dict[str, Any]:
        token = self._token()
        certificate = self.certificate_pem()
        return {"token_label": token.label, "token_serial": _serial(token), "has_certificate": certificate is not None}

    def certificate_pem(self) -> str | None:
        with self._lock, self._open(None) as session:
            found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.ID: KEY_ID}))
            if not found:
                return None
            der = bytes(found[0][Attribute.VALUE])
        return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, pin: str, data: bytes) -> bytes:
        """A DER ECDSA-SHA256 signature of data by the token's private key."""
        with self._lock, self._open(pin) as session:
            keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: KEY_ID}))
            if not keys:
                raise TokenError("UKey中没有签名密钥，请到中心办理UKey")
            raw = keys[0].sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
        return bytes(encode_ecdsa_signature(raw))

    def generate_key(self, pin: str) -> dict[str, str]:
        """Create a new P-256 key pair on the token (replacing an earlier one) and return its public key."""
        with self._lock, self._open(pin, rw=True) as session:
            for old in list(session.get_objects({Attribute.ID: KEY_ID})):
                old.destroy()
            parameters = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            public, _private = parameters.generate_keypair(store=True, label=KEY_LABEL, id=KEY_ID)
            der = encode_ec_public_key(public)
            token = session.token
        public_key = serialization.load_der_public_key(der)
        pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"token_label": token.label, "token_serial": _serial(token), "public_key": pem.decode("ascii")}

    def store_certificate(self, pin: str, certificate_pem: str) -> None:
        try:
            certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
        except ValueError as exc:
            raise TokenError("证书格式不正确") from exc
        with self._lock, self._open(pin, rw=True) as session:
            for old in list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.ID: KEY_ID})):
                old.destroy()
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: KEY_LABEL,
                Attribute.ID: KEY_ID,
                Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.VALUE: certificate.public_bytes(serialization.Encoding.DER),
            })


def _serial(token: Any) -> str:
    serial = token.serial
    return serial.decode("ascii", "replace").strip() if isinstance(serial, bytes) else str(serial).strip()
