"""Every environment variable of the system, declared once with its default.

Settings are read and validated when a process starts (``get_settings``); a bad value stops the
process with a message naming the variable instead of failing later in a request.
"""

from __future__ import annotations

import decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("auth", "employer", "member", "payment", "workflow", "notify")
DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8000,
    "auth": 8101,
    "employer": 8102,
    "member": 8103,
    "payment": 8104,
    "workflow": 8105,
    "notify": 8106,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALL_", extra="ignore")

    var_dir: Path = Path("var")
    redis_url: str = "redis://127.0.0.1:6391/0"
    http_timeout: float = Field(5.0, gt=0, le=120)
    relay_interval: float = Field(1.0, gt=0, le=60)
    # Publish outbox rows right after the commit that wrote them; the periodic relay is the safety net.
    relay_inline: bool = True
    # A web process's inline relay waits this long after a commit before publishing, so the commits of
    # concurrent requests leave as one message per consuming service, handled in one transaction
    # (make bench: under load this is what lets the worker keep up). Adds this much to each hop.
    relay_linger: float = Field(0.01, ge=0, le=1)
    # Sessions: short access tokens renewed by the gateway with a revocable refresh token, so a lost
    # revocation event keeps a token alive at most this long; idle and absolute limits as a bank's.
    access_token_seconds: int = Field(300, ge=5, le=3600)
    session_idle_seconds: int = Field(15 * 60, ge=5, le=24 * 3600)
    session_absolute_seconds: int = Field(8 * 3600, ge=60, le=7 * 24 * 3600)
    # Every renewal rotates the refresh token; the one it replaced still answers this long (with the
    # new one) for requests of the same browser sent before the new one reached it. Later, or any
    # older one, is a stolen copy: the session ends (reuse detection).
    refresh_reuse_grace_seconds: int = Field(30, ge=0, le=300)
    # The page warns this long before the idle timeout.
    session_idle_warning_seconds: int = Field(60, ge=1, le=600)
    # A center reset's one-time password serves one login within this time.
    one_time_password_hours: int = Field(24, ge=1, le=30 * 24)
    gateway_secret_key: str = ""
    # Each service's database; empty means a SQLite file under var_dir.
    auth_database_url: str = ""
    employer_database_url: str = ""
    member_database_url: str = ""
    payment_database_url: str = ""
    workflow_database_url: str = ""
    notify_database_url: str = ""
    # This process's own service token (role "service", minted by `python -m services.auth.service_tokens`)
    # for calls made outside any user's request, e.g. the notify worker paging the employer list for a
    # broadcast. Empty: the file var_dir/service_tokens/<service>.jwt that deploy.prepare writes.
    service_token: str = ""
    # SQLite only (the embedded configuration; production runs PostgreSQL): NORMAL under WAL does not
    # wait for the disk at every commit. It survives a crash of any process; an OS crash or a power
    # cut may lose the last commits (never corrupts the file). FULL waits for the disk every commit.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # Where each service listens, as seen by its callers.
    auth_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['auth']}"
    employer_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['employer']}"
    member_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['member']}"
    payment_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['payment']}"
    workflow_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['workflow']}"
    notify_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['notify']}"
    # The auth service signs session tokens with this key; other services only need its public half.
    auth_signing_key_file: str = ""
    # Login (manual ch. 1): lockout after repeated wrong passwords, single-use UKey challenges.
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lock_minutes: int = Field(15, ge=1, le=24 * 60)
    challenge_ttl_seconds: int = Field(60, ge=5, le=600)
    login_ticket_seconds: int = Field(300, ge=30, le=3600)
    ukey_certificate_days: int = Field(3 * 365, ge=1, le=20 * 365)
    # Dual control (四眼原则) of the two paths to an employer account, a UKey bound to it and a reset of its
    # password: one center account requests, a second, different account holding the same right confirms,
    # and only then does it take effect. A request not decided within dual_control_hours expires.
    # Off: the requesting account's action takes effect at once (a single-person installation).
    dual_control: bool = True
    # The admin console's login needs a second factor (TOTP, RFC 6238) after the password: on in
    # production and in the demo; the test stack turns it off for the tests that only need a center session.
    center_second_factor: bool = True
    dual_control_hours: int = Field(24, ge=1, le=30 * 24)
    # The center's UKey CA key: a PEM file under var_dir, or, with a module path, a key on a PKCS#11
    # token (an HSM) that signs the certificates itself. Created once by `python -m services.auth.keys init-ca`.
    ca_pkcs11_module: str = ""
    ca_pkcs11_token_label: str = ""
    ca_pkcs11_pin: str = ""
    ca_pkcs11_key_label: str = "hall-ukey-ca"
    # Login challenges per client address and per account (Flask-Limiter notation), counted in
    # rate_limit_storage_uri (empty: the Redis of redis_url; memory:// counts per process). An
    # X-Forwarded-For address is believed only from trusted_proxies (the gateway): addresses or networks
    # (10.0.0.0/8: a cluster's pod network, where the gateway's pods have no fixed address).
    challenge_limit_per_address: str = "30 per minute"
    challenge_limit_per_account: str = "10 per minute"
    rate_limit_storage_uri: str = ""
    # Pushes (POST /pushes on notify) per sender, counted like the login limits; and how many broadcasts
    # (target all) one sender may start per day (the hall's local date), counted exactly in notify's database.
    push_limit_per_sender: str = "60 per minute"
    push_broadcast_daily_quota: int = Field(5, ge=1, le=1000)
    trusted_proxies: str = "127.0.0.1,::1"
    # FIDO2/WebAuthn security keys beside the UKey (docs/webauthn.md). The relying party id is the
    # hall's host name as the browser sees it (browsers refuse an IP address, so the demo is served on
    # localhost); the origins are every address the login page is served at, and the browser's own
    # report of the origin must be one of them. Attestation "none" accepts any authenticator; "direct"
    # asks for the authenticator's attestation and accepts only the models listed by AAGUID.
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "住房公积金单位网上服务大厅"
    webauthn_origins: str = f"http://localhost:{DEFAULT_PORTS['gateway']}"
    webauthn_attestation: Literal["none", "direct"] = "none"
    webauthn_aaguids: str = ""
    # With direct attestation: a PEM file of the vendors' attestation roots (e.g. from the FIDO Metadata
    # Service); an attestation must chain to one of them, or any software key could name a listed model.
    webauthn_attestation_roots: str = ""
    webauthn_user_verification: Literal["required", "preferred"] = "required"
    # A center enrolment code (for an operator without a UKey) serves one registration within this time.
    webauthn_code_hours: int = Field(72, ge=1, le=30 * 24)
    # Where the employer's browser finds the UKey agent (联连客户端) on the employer's own PC.
    ukey_agent_url: str = "http://127.0.0.1:18761"
    # Where `make` puts the agent's wheel that the login page offers for download (relative: to the repo).
    ukey_agent_dist_dir: Path = Path("build/agent")
    # Cookies only over TLS (Secure flag) and HSTS: on in production, where the hall is served over https.
    secure_cookies: bool = False
    # How many reverse proxies (the https front end) stand before the gateway: their X-Forwarded-*
    # headers then give the browser's address, which the login rate limits count. 0: none, trust none.
    gateway_proxy_hops: int = Field(0, ge=0, le=5)
    # The TrueType font embedded in printed PDFs (Chinese text; Debian fonts-wqy-microhei).
    pdf_font_path: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    # Verifiable prints (docs/prints.md): the hall's key signing each print's verification code (empty:
    # var_dir/print_signing_key, made on first use; keep it with the backups), the address at which the
    # public reaches the gateway (the printed QR code opens its /verify page) and that page's rate limit.
    print_signing_key_file: str = ""
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}"
    verify_limit_per_address: str = "20 per minute"
    # Largest request body a service accepts (bytes); larger answers 413.
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Batch imports (hall_common.roster_imports): the largest workbook and the most rows one file may
    # hold; a file up to import_inline_bytes is checked in the request, a larger one by the heavy worker.
    import_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    import_max_rows: int = Field(100_000, ge=1, le=1_000_000)
    import_inline_bytes: int = Field(256 * 1024, ge=0)
    # How money is rounded to the fen (a Python decimal ROUND_* mode); DOMAIN.md: half up.
    money_rounding: str = "ROUND_HALF_UP"
    # Interest (services/payment/interest.py): balance product x annual rate / this many days. DOMAIN.md
    # says 360 and marks it unconfirmed against 365, so it is a setting, not code.
    interest_day_basis: Literal[360, 365] = 360
    # Services the Celery worker process serves (comma separated); scale out by running one per service.
    worker_services: str = ",".join(SERVICES)
    # Events (docs/events.md): a failing event is retried with exponential backoff (base, cap in
    # seconds) and after event_max_retries retries parked as a dead letter of its service.
    event_max_retries: int = Field(8, ge=0, le=100)
    event_retry_backoff: float = Field(2.0, gt=0, le=600)
    event_retry_backoff_max: float = Field(30.0, gt=0, le=3600)
    # An event held by a worker that died comes back after this many seconds; workers look for such
    # events every event_restore_interval seconds. Heavy jobs get their own queue and timeout.
    event_visibility_timeout: int = Field(60, ge=5, le=24 * 3600)
    event_restore_interval: int = Field(5, ge=1, le=300)
    heavy_visibility_timeout: int = Field(3600, ge=60, le=7 * 24 * 3600)
    # Every event's handling is stopped after event_soft_time_limit seconds, at most half the
    # visibility timeout so no second worker is handed an event still running (a failed attempt: retried,
    # then a dead letter); a handler stuck in one long C call, which no Python signal handler
    # interrupts, kills its worker after event_hard_time_limit seconds of CPU. An event delivered
    # event_max_deliveries times (counted across its original message and resent copies, limits.py)
    # without ending becomes a dead letter on its next delivery, without running.
    event_soft_time_limit: float = Field(20.0, gt=0, le=3600)
    event_hard_time_limit: float = Field(40.0, gt=0, le=7200)
    event_max_deliveries: int = Field(3, ge=1, le=100)
    # An event still without its consumers' receipts this many seconds after it was published is
    # sent again to those consumers (then after twice as long, up to an hour): see receipts.py.
    event_confirm_after: int = Field(300, ge=5, le=24 * 3600)
    # Housekeeping forgets delivered outbox rows and resolved dead letters older than this many days
    # (kept that long for support and audit); undelivered or unresolved ones stay whatever their age.
    event_retention_days: int = Field(30, ge=1, le=3650)
    # The downstream stream (hall_common/downstream.py, docs/events.md): its key (empty: not published),
    # its Redis (empty: redis_url) and about how many entries it keeps (XADD MAXLEN ~).
    downstream_stream: str = Field("hall:downstream", max_length=200)
    downstream_redis_url: str = ""
    downstream_maxlen: int = Field(1_000_000, ge=1000, le=100_000_000)
    # Distributed traces (hall_common/tracing.py, docs/observability.md): empty, off (nothing installed,
    # nothing paid); "otlp", OTLP/HTTP to the standard OTEL_EXPORTER_OTLP_ENDPOINT (a collector);
    # "jsonl:<path>", one JSON object per finished span appended to that file.
    otel_exporter: str = ""

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "redis+socket://", "sentinel://")):
            raise ValueError("HALL_REDIS_URL must be a redis:// URL")
        return value

    @field_validator("downstream_redis_url")
    @classmethod
    def _downstream_redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("HALL_DOWNSTREAM_REDIS_URL must be a redis:// URL (or empty: HALL_REDIS_URL)")
        return value

    @field_validator("otel_exporter")
    @classmethod
    def _otel_exporter(cls, value: str) -> str:
        if value not in ("", "otlp") and not (value.startswith("jsonl:") and len(value) > len("jsonl:")):
            raise ValueError('HALL_OTEL_EXPORTER must be empty (off), "otlp" or "jsonl:<path>"')
        return value

    @field_validator("auth_url", "employer_url", "member_url", "payment_url", "workflow_url", "notify_url",
                     "public_url")
    @classmethod
    def _http_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("service URLs must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("challenge_limit_per_address", "challenge_limit_per_account", "push_limit_per_sender",
                     "verify_limit_per_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '10 per minute': {value!r}") from exc
        return value

    @field_validator("webauthn_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = [o.strip() for o in value.split(",") if o.strip()]
        if not origins or any(not o.startswith(("http://", "https://")) for o in origins):
            raise ValueError("HALL_WEBAUTHN_ORIGINS: one or more origins such as https://dwwt.example.gov.cn")
        return ",".join(o.rstrip("/") for o in origins)

    @field_validator("webauthn_aaguids")
    @classmethod
    def _aaguids(cls, value: str) -> str:
        import uuid

        return ",".join(str(uuid.UUID(a.strip())) for a in value.split(",") if a.strip())

    @model_validator(mode="after")
    def _direct_needs_aaguids(self) -> Settings:
        if self.webauthn_attestation == "direct" and not self.webauthn_aaguids:
            raise ValueError("HALL_WEBAUTHN_ATTESTATION=direct needs the allowed models in HALL_WEBAUTHN_AAGUIDS")
        if self.webauthn_attestation == "direct" and not self.webauthn_attestation_roots:
            raise ValueError("HALL_WEBAUTHN_ATTESTATION=direct needs the vendors' roots in "
                             "HALL_WEBAUTHN_ATTESTATION_ROOTS (a PEM file)")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        import ipaddress

        for item in (a.strip() for a in value.split(",")):
            if item:
                ipaddress.ip_network(item, strict=False)  # a ValueError names the bad entry
        return value

    @field_validator("money_rounding")
    @classmethod
    def _rounding_mode(cls, value: str) -> str:
        if not value.startswith("ROUND_") or not isinstance(getattr(decimal, value, None), str):
            raise ValueError("HALL_MONEY_ROUNDING must be a decimal rounding mode such as ROUND_HALF_UP")
        return value

    @field_validator("worker_services")
    @classmethod
    def _known_services(cls, value: str) -> str:
        unknown = [s for s in value.split(",") if s and s not in SERVICES]
        if unknown:
            raise ValueError(f"unknown services in HALL_WORKER_SERVICES: {unknown}")
        return value

    @model_validator(mode="after")
    def _retry_within_visibility(self) -> Settings:
        # A retry waits in the worker, unacknowledged: waiting longer than the visibility timeout
        # would have Redis hand the same event to a second worker meanwhile.
        if self.event_retry_backoff_max >= self.event_visibility_timeout:
            raise ValueError("HALL_EVENT_RETRY_BACKOFF_MAX must be below HALL_EVENT_VISIBILITY_TIMEOUT")
        return self

    def database_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_database_url")
        if url:
            return url
        return f"sqlite:///{self.var_path / (service + '.db')}"

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url"))

    @property
    def var_path(self) -> Path:
        path = self.var_dir.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def signing_key_path(self) -> Path:
        if self.auth_signing_key_file:
            return Path(self.auth_signing_key_file)
        return self.var_path / "auth_signing_key.pem"

    @property
    def worker_service_list(self) -> list[str]:
        return [s for s in self.worker_services.split(",") if s]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between apps)."""
    get_settings.cache_clear()
