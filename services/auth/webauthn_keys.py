"""Security keys (FIDO2/WebAuthn) of employer accounts beside the UKey: registration, the check of a
login's assertion (signature, then the signature counter), the operator's own list and removal, and
the center's revocation. The challenges are the UKey's single-use login challenges (ukeys.py).

Registration needs a session (a login that passed a second factor) or a center enrolment code
(webauthn_center.py); the center's switch per employer decides whether its accounts may use keys at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_attestation_object, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay
from hall_common.settings import get_settings

from . import sessions, ukeys
from .accounts import audit, find_operator
from .models import EMPLOYER, Challenge, Operator, WebAuthnCredential, WebAuthnSession, WebAuthnSwitch

log = logging.getLogger(__name__)
NOT_ALLOWED = "中心未开通本单位的安全密钥登录，请联系中心"
NO_KEY = "安全密钥不存在"


def _origins() -> list[str]:
    return get_settings().webauthn_origins.split(",")


def _uv_required() -> bool:
    return get_settings().webauthn_user_verification == "required"


def _uv() -> UserVerificationRequirement:
    return UserVerificationRequirement(get_settings().webauthn_user_verification)


def _nonce(challenge: Challenge) -> bytes:
    return base64.b64decode(challenge.nonce)


def user_handle(login_name: str) -> bytes:
    """The account's user handle on its keys: stable, and not the login name itself."""
    return hashlib.sha256(b"hall-webauthn-user\0" + login_name.encode("utf-8")).digest()[:16]


def allowed(employer_no: str | None) -> bool:
    """Whether the center lets this employer's accounts use security keys (no decision: not allowed)."""
    if not employer_no:
        return False
    switch = db.session().get(WebAuthnSwitch, employer_no)
    return switch is not None and switch.allowed


def employer_account(login_name: str) -> Operator:
    operator = find_operator(login_name)
    if operator is None or operator.role != EMPLOYER:
        raise BusinessError("安全密钥只能登记在单位账号上", 422)
    if not allowed(operator.employer_no):
        raise BusinessError(NOT_ALLOWED, 403)
    return operator


def active_keys(login_name: str) -> list[WebAuthnCredential]:
    query = (select(WebAuthnCredential)
             .where(WebAuthnCredential.login_name == login_name, WebAuthnCredential.revoked_at.is_(None))
             .order_by(WebAuthnCredential.id))
    return list(db.session().scalars(query))


# -- registration -----------------------------------------------------------------------------------

NEEDS_UKEY = "请使用UKey登录后再登记安全密钥，或向中心申请登记码"


def opened_with_key(session_id: str | None) -> bool:
    return bool(session_id) and db.session().get(WebAuthnSession, session_id) is not None


def sessions_opened_with_keys(login_names: list[str]) -> list[str]:
    """The sessions these accounts opened with a security key (live or not: the caller ends the live)."""
    query = (select(WebAuthnSession.session_id)
             .join(WebAuthnCredential, WebAuthnCredential.id == WebAuthnSession.key_id)
             .where(WebAuthnCredential.login_name.in_(login_names)))
    return list(db.session().scalars(query))


def record_session(session_id: str, key: WebAuthnCredential) -> None:
    db.session().add(WebAuthnSession(session_id=session_id, key_id=key.id, created_at=db.utcnow()))
    db.session().commit()


def forget_old_sessions() -> None:
    """Housekeeping: the marks of sessions past any session's absolute lifetime."""
    limit = db.utcnow() - timedelta(seconds=get_settings().session_absolute_seconds) - timedelta(days=1)
    db.session().execute(delete(WebAuthnSession).where(WebAuthnSession.created_at < limit))


def check_signed_in_registration(session_id: str | None) -> None:
    """A signed-in registration needs a session the UKey opened (see WebAuthnSession)."""
    if opened_with_key(session_id):
        raise BusinessError(NEEDS_UKEY, 403)


def registration_options(login_name: str) -> dict[str, Any]:
    """The options for navigator.credentials.create(): a resident key (the login then needs no list of
    the account's keys, which would tell a stranger whether the account has any), user verification as
    the setting says, and the attestation the policy needs."""
    operator = employer_account(login_name)
    settings = get_settings()
    challenge = ukeys.new_challenge(login_name, ukeys.KEY_REGISTER)
    options = generate_registration_options(
        rp_id=settings.webauthn_rp_id, rp_name=settings.webauthn_rp_name, user_name=login_name,
        user_id=user_handle(login_name),
        user_display_name=f"{operator.employer_name or ''}（{login_name}）",
        challenge=_nonce(challenge), timeout=settings.challenge_ttl_seconds * 1000,
        attestation=AttestationConveyancePreference(settings.webauthn_attestation),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=_uv()),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=k.credential_id) for k in active_keys(login_name)],
    )
    return {"challenge_id": challenge.id, "options": json.loads(options_to_json(options))}


NOT_ADMITTED = "该安全密钥型号未经中心认可，不能登记"


@lru_cache(maxsize=4)
def attestation_roots(path: str) -> list[bytes]:
    """The vendors' root certificates of a PEM bundle, each as its own PEM (what py_webauthn takes)."""
    text = Path(path).read_bytes()
    ends = b"-----END CERTIFICATE-----"
    roots = [block[block.index(b"-----BEGIN"):].strip() + b"\n" + ends + b"\n"
             for block in text.split(ends) if b"-----BEGIN" in block]
    if not roots:
        raise ValueError(f"HALL_WEBAUTHN_ATTESTATION_ROOTS: no certificate in {path}")
    return roots


def register(actor: str, login_name: str, challenge_id: str, credential: dict[str, Any], name: str,
             how: str) -> WebAuthnCredential:
    """Verify the authenticator's answer and keep the key, in the caller's transaction (committed by the
    caller: a code's use commits with it). ``how`` says in the audit record what allowed it."""
    employer_account(login_name)
    used = ukeys.use_challenge(challenge_id, login_name, ukeys.KEY_REGISTER)
    settings = get_settings()
    direct = settings.webauthn_attestation == "direct"
    roots = attestation_roots(settings.webauthn_attestation_roots) if direct else []
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=_nonce(used), expected_rp_id=settings.webauthn_rp_id,
            expected_origin=_origins(), require_user_verification=_uv_required(),
            pem_root_certs_bytes_by_fmt={fmt: roots for fmt in AttestationFormat} if roots else None,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        log.info("security key registration for %s refused: %s", login_name, exc)
        raise BusinessError("安全密钥登记失败：验证未通过，请重试", 422) from exc
    if direct and (verified.fmt == AttestationFormat.NONE or verified.aaguid not in settings.webauthn_aaguids.split(",")
                   or not parse_attestation_object(verified.attestation_object).att_stmt.x5c):
        # No attestation, a model not on the list, or self attestation (no certificate chaining to a
        # vendor's root: the key vouches for itself and could name any model).
        raise BusinessError(NOT_ADMITTED, 422)
    key = WebAuthnCredential(
        login_name=login_name, credential_id=verified.credential_id, public_key=verified.credential_public_key,
        sign_count=verified.sign_count, aaguid=verified.aaguid, name=name, created_at=db.utcnow(),
    )
    session = db.session()
    session.add(key)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise BusinessError("该安全密钥已登记", 409) from exc
    audit(actor, "webauthn_register", login_name, f"登记安全密钥“{name}”（{how}）",
          after={"key_id": key.id, "name": name, "aaguid": key.aaguid})
    return key


# -- the operator's own keys and the center's revocation ----------------------------------------------

def own_key(login_name: str, key_id: int) -> WebAuthnCredential:
    key = db.session().get(WebAuthnCredential, key_id)
    if key is None or key.login_name != login_name or key.revoked_at is not None:
        raise BusinessError(NO_KEY, 404)
    return key


def remove(login_name: str, key_id: int) -> None:
    """The operator removes one of its own keys (lost, replaced): it cannot log in from now on, and the
    sessions it opened (a finder's, with the password) end with the removal."""
    key = own_key(login_name, key_id)
    _end(key, login_name, "webauthn_remove", f"删除安全密钥“{key.name}”")
    opened = db.session().scalars(select(WebAuthnSession.session_id).where(WebAuthnSession.key_id == key.id))
    sessions.end_sessions_by_id(list(opened), "webauthn_removed")
    commit_and_relay(db.session())


def revoke(actor: str, key_id: int) -> WebAuthnCredential:
    """The center revokes a key: the account's sessions end at once, as a UKey's revocation ends them."""
    key = db.session().get(WebAuthnCredential, key_id)
    if key is None:
        raise BusinessError(NO_KEY, 404)
    if key.revoked_at is None:
        _end(key, actor, "webauthn_revoke", f"注销安全密钥“{key.name}”（{key.login_name}）")
        sessions.revoke_account_sessions(key.login_name, "webauthn_revoked")  # commits with the revocation
    return key


def _end(key: WebAuthnCredential, actor: str, action: str, detail: str) -> None:
    key.revoked_at, key.revoked_by = db.utcnow(), actor
    audit(actor, action, key.login_name, detail, before={"key_id": key.id, "status": "active"},
          after={"key_id": key.id, "status": "revoked"})


def all_keys() -> list[WebAuthnCredential]:
    query = select(WebAuthnCredential).order_by(WebAuthnCredential.login_name, WebAuthnCredential.id)
    return list(db.session().scalars(query))


# -- login ------------------------------------------------------------------------------------------

def login_options(login_name: str) -> dict[str, Any]:
    """The same answer for every name, with or without keys or an account: the keys are resident, so no
    list of credentials is sent and the ceremony of a name without keys fails as a wrong key does."""
    settings = get_settings()
    challenge = ukeys.new_challenge(login_name, ukeys.KEY_LOGIN)
    options = generate_authentication_options(
        rp_id=settings.webauthn_rp_id, challenge=_nonce(challenge), timeout=settings.challenge_ttl_seconds * 1000,
        user_verification=_uv(),
    )
    return {"challenge_id": challenge.id, "options": json.loads(options_to_json(options))}


def login_key(login_name: str, employer_no: str | None, challenge: Challenge,
              credential: dict[str, Any]) -> WebAuthnCredential | None:
    """The account's key that signed this login's challenge, else None (the reason stays in the log and,
    for a clone, in the audit trail: the caller's answer must not tell which secret was wrong).

    The signature is verified first, then the counter: a count that does not grow (while either count
    is not zero) means two authenticators hold the key, and the login is refused.
    """
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    key = db.session().scalar(select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id))
    if key is None or key.login_name != login_name or key.revoked_at is not None:
        log.info("security key login to %s: unknown, revoked or another account's key", login_name)
        return None
    if not allowed(employer_no):
        log.info("security key login to %s: not allowed for employer %s", login_name, employer_no)
        return None
    settings = get_settings()
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=_nonce(challenge), expected_rp_id=settings.webauthn_rp_id,
            expected_origin=_origins(), credential_public_key=key.public_key,
            credential_current_sign_count=0,  # compared below, after the signature, to audit a clone
            require_user_verification=_uv_required(),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        log.info("security key login to %s failed: %s", login_name, exc)
        return None
    stored, new = key.sign_count, verified.new_sign_count
    if not (stored or new):  # an authenticator without a counter: nothing to compare
        key.last_used_at = db.utcnow()
        return key
    if new <= stored or not _advance(key, stored, new):
        audit(login_name, "webauthn_counter_regression", login_name,
              f"安全密钥“{key.name}”的签名计数器未增加（已记录{stored}，本次{new}），疑似被复制，登录已拒绝",
              before={"key_id": key.id, "sign_count": stored}, after={"key_id": key.id, "sign_count": new})
        db.session().commit()
        return None
    return key


def _advance(key: WebAuthnCredential, stored: int, new: int) -> bool:
    """Move the counter on, unless a concurrent login moved it first (then this one is the clone's)."""
    result = db.session().execute(
        update(WebAuthnCredential).where(WebAuthnCredential.id == key.id, WebAuthnCredential.sign_count == stored)
        .values(sign_count=new, last_used_at=db.utcnow()).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
