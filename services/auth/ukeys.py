"""UKeys: issuing certificates for keys generated on tokens, bindings, revocation, and the checks of a
UKey login (single-use challenge, certificate chain, validity, revocation, binding, signature)."""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.settings import get_settings
from ukey_agent import LOGIN_PREFIX

from . import keys, sessions
from .accounts import audit, get_operator
from .models import ACTIVE, EMPLOYER, REVOKED, Challenge, UKey, UKeyBinding

log = logging.getLogger(__name__)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


# -- issuing and managing keys ----------------------------------------------------------------------

def issue(actor: str, token_serial: str, token_label: str, public_key_pem: str, login_names: list[str],
          not_before: datetime | None = None, not_after: datetime | None = None) -> UKey:
    """Certify a key pair that was generated on the token, and bind the key to employer accounts."""
    ukey = certify(actor, token_serial, token_label, public_key_pem, login_names, not_before, not_after)
    db.session().commit()
    return ukey


def check_issue(public_key_pem: str, login_names: list[str]) -> None:
    """What an issue needs, checked when it is requested, so that a confirmation does not fail on it."""
    _employer_accounts(login_names)
    try:
        public_key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise BusinessError(f"UKey公钥无效：{exc}", 422) from exc
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise BusinessError("UKey公钥无效：UKey公钥应为EC P-256密钥", 422)


def _employer_accounts(login_names: list[str]) -> None:
    for login_name in login_names:
        if get_operator(login_name).role != EMPLOYER:
            raise BusinessError("UKey只能绑定单位账号", 422)


def certify(actor: str, token_serial: str, token_label: str, public_key_pem: str, login_names: list[str],
            not_before: datetime | None = None, not_after: datetime | None = None,
            requested_by: str | None = None) -> UKey:
    """``issue`` in the caller's transaction; under dual control the actor is the confirming account."""
    _employer_accounts(login_names)
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    end = not_after or datetime.now(UTC) + timedelta(days=get_settings().ukey_certificate_days)
    try:
        certificate = keys.issue_certificate(public_key_pem, f"UKey {token_serial}", start, end)
    except ValueError as exc:
        raise BusinessError(f"UKey公钥无效：{exc}", 422) from exc
    ukey = UKey(
        token_serial=token_serial, token_label=token_label,
        certificate_serial=format(certificate.serial_number, "x"),
        certificate_pem=certificate.public_bytes(keys.serialization.Encoding.PEM).decode("ascii"),
        not_before=_naive(certificate.not_valid_before_utc), not_after=_naive(certificate.not_valid_after_utc),
        issued_by=actor,
    )
    session = db.session()
    # A new key on a token replaces the old one there: the old certificate is of no further use.
    replaced = session.scalars(select(UKey).where(UKey.token_serial == token_serial, UKey.status == ACTIVE))
    for old in replaced:
        old.status, old.revoked_by, old.revoked_at = REVOKED, actor, db.utcnow()
        audit(actor, "revoke_ukey", token_serial, f"证书序列号 {old.certificate_serial}（UKey重新签发）",
              before={"certificate_serial": old.certificate_serial, "status": ACTIVE},
              after={"certificate_serial": old.certificate_serial, "status": REVOKED})
    session.add(ukey)
    session.flush()
    for login_name in login_names:
        session.add(UKeyBinding(ukey_id=ukey.id, login_name=login_name))
    after = {"certificate_serial": ukey.certificate_serial, "status": ACTIVE, "login_names": sorted(login_names)}
    audit(actor, "issue_ukey", token_serial,
          f"证书序列号 {ukey.certificate_serial}，绑定 {'、'.join(login_names)}{_pair(requested_by, actor)}",
          after=_named(after, requested_by, actor))
    session.flush()
    return ukey


def _pair(requested_by: str | None, actor: str) -> str:
    return f"（{requested_by} 申请，{actor} 复核）" if requested_by else ""


def _named(state: dict[str, Any], requested_by: str | None, actor: str) -> dict[str, Any]:
    return {**state, "requested_by": requested_by, "confirmed_by": actor} if requested_by else state


def get_ukey(ukey_id: int) -> UKey:
    ukey = db.session().get(UKey, ukey_id)
    if ukey is None:
        raise BusinessError("UKey不存在", 404)
    return ukey


def bind(actor: str, ukey_id: int, login_name: str) -> None:
    add_binding(actor, ukey_id, login_name)
    db.session().commit()


def check_binding(ukey_id: int, login_name: str) -> UKey:
    """What a binding needs, checked when it is requested as when it is made."""
    ukey = get_ukey(ukey_id)
    if get_operator(login_name).role != EMPLOYER:
        raise BusinessError("UKey只能绑定单位账号", 422)
    if ukey.status != ACTIVE:
        raise BusinessError("该UKey已注销，不能绑定", 409)
    if login_name in bound_accounts(ukey):
        raise BusinessError("该UKey已绑定此单位账号", 409)
    return ukey


def add_binding(actor: str, ukey_id: int, login_name: str, requested_by: str | None = None) -> None:
    """``bind`` in the caller's transaction; under dual control the actor is the confirming account."""
    ukey = check_binding(ukey_id, login_name)
    session = db.session()
    before = bound_accounts(ukey)
    session.add(UKeyBinding(ukey_id=ukey.id, login_name=login_name))
    audit(actor, "bind_ukey", ukey.token_serial, login_name + _pair(requested_by, actor),
          before={"login_names": before},
          after=_named({"login_names": sorted({*before, login_name})}, requested_by, actor))
    try:
        session.flush()
    except IntegrityError as exc:  # the same binding made by a concurrent request
        session.rollback()
        raise BusinessError("该UKey已绑定此单位账号", 409) from exc


def unbind(actor: str, ukey_id: int, login_name: str) -> None:
    ukey = get_ukey(ukey_id)
    session = db.session()
    binding = session.scalar(
        select(UKeyBinding).where(UKeyBinding.ukey_id == ukey.id, UKeyBinding.login_name == login_name)
    )
    if binding is None:
        raise BusinessError("该UKey未绑定此单位账号", 404)
    before = bound_accounts(ukey)
    session.delete(binding)
    audit(actor, "unbind_ukey", ukey.token_serial, login_name, before={"login_names": before},
          after={"login_names": [n for n in before if n != login_name]})
    sessions.revoke_account_sessions(login_name, "ukey_unbound")


def revoke(actor: str, ukey_id: int) -> UKey:
    ukey = get_ukey(ukey_id)
    if ukey.status != REVOKED:
        ukey.status = REVOKED
        ukey.revoked_by = actor
        ukey.revoked_at = db.utcnow()
        audit(actor, "revoke_ukey", ukey.token_serial, f"证书序列号 {ukey.certificate_serial}",
              before={"certificate_serial": ukey.certificate_serial, "status": ACTIVE},
              after={"certificate_serial": ukey.certificate_serial, "status": REVOKED})
        # A revoked key must not keep a session it opened: end the sessions of every account it serves.
        for login_name in bound_accounts(ukey):
            sessions.revoke_account_sessions(login_name, "ukey_revoked")
        db.session().commit()
    return ukey


def list_ukeys() -> list[tuple[UKey, list[str]]]:
    session = db.session()
    bindings: dict[int, list[str]] = {}
    for binding in session.scalars(select(UKeyBinding).order_by(UKeyBinding.login_name)):
        bindings.setdefault(binding.ukey_id, []).append(binding.login_name)
    return [(u, bindings.get(u.id, [])) for u in session.scalars(select(UKey).order_by(UKey.id.desc()))]


def bound_accounts(ukey: UKey) -> list[str]:
    query = select(UKeyBinding.login_name).where(UKeyBinding.ukey_id == ukey.id).order_by(UKeyBinding.login_name)
    return list(db.session().scalars(query))


# -- the login checks -------------------------------------------------------------------------------

UKEY_LOGIN, KEY_LOGIN, KEY_REGISTER = "ukey_login", "key_login", "key_register"


def new_challenge(login_name: str, purpose: str = UKEY_LOGIN) -> Challenge:
    now = db.utcnow()
    challenge = Challenge(
        id=str(uuid.uuid4()), nonce=base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        login_name=login_name, created_at=now, purpose=purpose,
        expires_at=now + timedelta(seconds=get_settings().challenge_ttl_seconds),
    )
    db.session().add(challenge)
    db.session().commit()
    return challenge


def forget_old_challenges() -> None:
    """Challenges are kept an hour past their expiry (for the record of failed logins), then deleted."""
    db.session().execute(delete(Challenge).where(Challenge.expires_at < db.utcnow() - timedelta(hours=1)))


def use_challenge(challenge_id: str, login_name: str, purpose: str = UKEY_LOGIN) -> Challenge:
    """Consume the challenge: it must exist, belong to this login and this step (a login's challenge, which
    anyone may ask for, never serves a registration), be unused and unexpired."""
    session = db.session()
    challenge = session.get(Challenge, challenge_id)
    if challenge is None or challenge.purpose != purpose:
        raise BusinessError("登录挑战无效，请重新登录", 401)
    if challenge.login_name != login_name:
        raise BusinessError("登录挑战与当前账号不符，请重新登录", 401)
    if challenge.used_at is not None:
        raise BusinessError("登录挑战已使用，请重新登录", 401)
    now = db.utcnow()
    if challenge.expires_at <= now:
        raise BusinessError("登录挑战已过期，请重新登录", 401)
    # Conditional update: of two concurrent uses of one challenge only one succeeds.
    used = session.execute(
        update(Challenge).where(Challenge.id == challenge_id, Challenge.used_at.is_(None)).values(used_at=now)
    )
    session.commit()
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise BusinessError("登录挑战已使用，请重新登录", 401)
    return challenge


def verify_certificate(certificate_pem: str, login_name: str) -> UKey:
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise BusinessError("UKey证书格式不正确", 401) from exc
    ca_certificate = keys.ca().certificate
    try:
        certificate.verify_directly_issued_by(ca_certificate)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise BusinessError("UKey证书不是中心签发的", 401) from exc
    now = datetime.now(UTC)
    if now < certificate.not_valid_before_utc:
        raise BusinessError("UKey证书尚未生效", 401)
    if now > certificate.not_valid_after_utc:
        raise BusinessError("UKey证书已过期，请到中心更换", 401)
    ukey = db.session().scalar(select(UKey).where(UKey.certificate_serial == format(certificate.serial_number, "x")))
    if ukey is None:
        raise BusinessError("UKey证书未在中心登记", 401)
    if ukey.status != ACTIVE:
        raise BusinessError("UKey证书已注销，请联系中心", 401)
    if login_name not in bound_accounts(ukey):
        raise BusinessError("该UKey未绑定此单位账号", 401)
    return ukey


def login_key(certificate_pem: str, login_name: str, challenge: Challenge, signature_b64: str) -> UKey | None:
    """The UKey of a login if its certificate and signature pass, else None.

    The reason stays in the log: the caller's answer must not tell which secret was wrong.
    """
    try:
        ukey = verify_certificate(certificate_pem, login_name)
        verify_signature(ukey, challenge, signature_b64)
    except BusinessError as refused:
        log.info("UKey check of a login to %s failed: %s", login_name, refused.message)
        return None
    return ukey


def verify_signature(ukey: UKey, challenge: Challenge, signature_b64: str) -> None:
    public_key = x509.load_pem_x509_certificate(ukey.certificate_pem.encode("ascii")).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        signed = LOGIN_PREFIX + base64.b64decode(challenge.nonce)
        public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise BusinessError("UKey签名验证失败", 401) from exc
