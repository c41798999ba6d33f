from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hall_common.audit import audit_model
from hall_common.db import utcnow
from hall_common.models import plumbing_models

EMPLOYER, CENTER = "employer", "center"
ACTIVE, REVOKED = "active", "revoked"


class Base(DeclarativeBase):
    pass


PLUMBING = plumbing_models(Base)


class Operator(Base):
    """A login: an employer account (login name = employer no) or a center staff member."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login_name: Mapped[str] = mapped_column(String(50), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(50))
    employer_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    employer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # The initial password (111111) and a center reset must be changed before any business page opens.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    sound_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # 大字模式: the hall's pages in larger text, kept per operator like the sound preference.
    large_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # A center reset's one-time password: usable for one login before this moment, then spent (set to
    # the moment of use); None when the password is not a one-time password.
    one_time_password_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Center staff's second factor (second_factor.py): the TOTP secret, encrypted; while enrolling, the
    # secret shown but not yet confirmed by a code; the last time-step a code was accepted for (a code
    # is spent once: only a later step passes the conditional update).
    totp_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UKey(Base):
    """A USB key the center issued: its certificate (key pair generated on the token) and status."""

    __tablename__ = "ukeys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_serial: Mapped[str] = mapped_column(String(64))
    token_label: Mapped[str] = mapped_column(String(64))
    certificate_serial: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    not_after: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    issued_by: Mapped[str] = mapped_column(String(50))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(50), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UKeyBinding(Base):
    """One UKey manages one or more employer accounts; one account may have several UKeys."""

    __tablename__ = "ukey_bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ukey_id: Mapped[int] = mapped_column(ForeignKey("ukeys.id"), index=True)
    login_name: Mapped[str] = mapped_column(ForeignKey("operators.login_name"), index=True)
    __table_args__ = (UniqueConstraint("ukey_id", "login_name"),)


class Challenge(Base):
    """A single-use challenge for one account: signed by the UKey, or by a security key (login or registration)."""

    __tablename__ = "login_challenges"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    login_name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # ukey_login, key_login or key_register: a challenge serves only the step it was taken for.
    purpose: Mapped[str] = mapped_column(String(20), default="ukey_login", server_default="ukey_login")


class WebAuthnCredential(Base):
    """A FIDO2/WebAuthn authenticator (security key) an employer account registered beside its UKeys."""

    __tablename__ = "webauthn_credentials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login_name: Mapped[str] = mapped_column(ForeignKey("operators.login_name"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))  # COSE
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(50))  # given by the operator: which key this is
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(50), nullable=True)


class WebAuthnSession(Base):
    """A session opened with a security key (not the UKey): it may not register further keys, so that a
    stolen key and password cannot add a key of the thief's that outlives the stolen one's revocation."""

    __tablename__ = "webauthn_sessions"
    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("webauthn_credentials.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebAuthnSwitch(Base):
    """The center's decision whether an employer's accounts may use security keys. No row: not allowed
    (a new path into an account is opened by the center, not by default)."""

    __tablename__ = "webauthn_switches"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(50))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EnrolmentCode(Base):
    """A one-time code the center gives an operator without a UKey to register a security key: only its
    hash is kept; it serves one registration before it expires (spent by a conditional update)."""

    __tablename__ = "webauthn_enrolment_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login_name: Mapped[str] = mapped_column(ForeignKey("operators.login_name"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(50))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# The admin actions' trail (hall_common.audit): who, when, what, and the state before and after.
AuditRecord = audit_model(Base)


class Group(Base):
    """A center group (经办, 复核, 负责人 ...): the candidate group a process's user task names by code."""

    __tablename__ = "groups"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupMember(Base):
    """A center account's membership of a group; its tokens carry the group codes (``grp``)."""

    __tablename__ = "group_members"
    group_code: Mapped[str] = mapped_column(ForeignKey("groups.code"), primary_key=True)
    login_name: Mapped[str] = mapped_column(ForeignKey("operators.login_name"), primary_key=True, index=True)


class LoginTicket(Base):
    """A step of a login (password change, employer selection): consumed once, by a conditional update."""

    __tablename__ = "login_tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    login_name: Mapped[str] = mapped_column(String(50))
    stage: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class HallSession(Base):
    """A signed-in session: short access tokens carry its id (``sid``) and are renewed with the refresh
    token, whose hash only is kept. Revoking the row ends every renewal at once."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    login_name: Mapped[str] = mapped_column(String(50), index=True)
    role: Mapped[str] = mapped_column(String(20))
    employer_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)  # of the current generation's token
    # Each renewal rotates the refresh token: its generation and when it last rotated (reuse detection).
    refresh_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the absolute lifetime
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # How the login was authenticated (password, totp, ukey, webauthn): the tokens' amr claim.
    factor: Mapped[str | None] = mapped_column(String(20), nullable=True)


class ServiceToken(Base):
    """A service token as issued (its id is the token's ``jti``; the token itself is never kept): listed
    in the console and withdrawn one by one (token_registry)."""

    __tablename__ = "service_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    permissions: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # A center login name, or "cli" / "deploy" for the command and deploy.prepare.
    issued_by: Mapped[str] = mapped_column(String(50))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(50), nullable=True)


class CenterRole(Base):
    """A named set of center permissions (系统管理员, 流程管理员 ...) granted to center accounts at once."""

    __tablename__ = "center_roles"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CenterRoleMember(Base):
    """A center account holds a role: its tokens carry the role's permissions with its own grants."""

    __tablename__ = "center_role_members"
    role_code: Mapped[str] = mapped_column(ForeignKey("center_roles.code"), primary_key=True)
    login_name: Mapped[str] = mapped_column(ForeignKey("operators.login_name"), primary_key=True, index=True)


# The kinds of request that a second center account must confirm, and their states.
RESET_PASSWORD, ISSUE_UKEY, BIND_UKEY = "reset_password", "issue_ukey", "bind_ukey"
RESET_TOTP = "reset_totp"  # a center account's second factor (second_factor.py)
REQUESTED, CONFIRMED, REJECTED, CANCELLED, EXPIRED = "requested", "confirmed", "rejected", "cancelled", "expired"


class PendingApproval(Base):
    """待复核操作: a takeover path to an employer account (a password reset, a UKey issued for or bound
    to it) that one center account requested and a second one must confirm before it happens.

    The payload holds what the action needs and nothing secret (a public key, the token's serial and
    label, login names); the one-time password of a reset is made when the request is confirmed."""

    __tablename__ = "pending_approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(64))  # the login name, or the token's serial
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[str] = mapped_column(String(50))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default=REQUESTED, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(50), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # What the confirmation made that the requester's page needs (the issued UKey's id), never a secret.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ClosedEmployer(Base):
    """An employer whose account was closed (零余额销户, from ``employer.closed``): its accounts log in to
    query only."""

    __tablename__ = "closed_employers"
    employer_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event_id: Mapped[str] = mapped_column(String(36))
