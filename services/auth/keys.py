"""The auth service's token signing key (EC P-256), created on first start if absent."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hall_common.settings import get_settings


@lru_cache(maxsize=1)
def private_key_pem() -> bytes:
    path: Path = get_settings().signing_key_path
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written then renamed, readable by the owner only: a half-written key must never be loaded.
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return path.read_bytes()


def public_key_pem() -> str:
    key = serialization.load_pem_private_key(private_key_pem(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
