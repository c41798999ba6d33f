"""Rate limits of the login challenge and the center's login (its password and its second factor's
code and enrolment; Flask-Limiter), per client address and per account.

Each challenge stores a row, and a flood of them was the cheapest attack on the hall. The counters
live in Redis and fall back to each process's memory while it is down (hall_common.ratelimit).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter

from hall_common.ratelimit import limiter_for
from hall_common.settings import get_settings

MESSAGE = "登录请求过于频繁，请稍后再试"
# The security key's login options and code enrolment store a challenge or check a password, as these do.
LIMITED_ENDPOINTS = ("auth.challenge", "auth.center_login", "webauthn.login_options", "webauthn.enrolment_options")
# The second factor's steps carry a ticket, not a login name: counted per address (the lockout counts per account).
ADDRESS_LIMITED_ENDPOINTS = ("auth.center_totp", "auth.center_totp_enrolment")


def client_address() -> str:
    """The caller's address; the one the gateway forwards if the direct caller is a trusted proxy."""
    remote = request.remote_addr or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _trusted(remote):
        # The right-most entry is the one the trusted proxy itself added; earlier ones are hearsay.
        return forwarded.split(",")[-1].strip() or remote
    return remote


def _trusted(remote: str) -> bool:
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in trusted_networks(get_settings().trusted_proxies))


@lru_cache(maxsize=4)
def trusted_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks: a gateway's pods have no fixed address, only their cluster's pod network."""
    return tuple(ipaddress.ip_network(a.strip(), strict=False) for a in value.split(",") if a.strip())


def account() -> str:
    body = request.get_json(silent=True)
    name = body.get("login_name") if isinstance(body, dict) else None
    # An empty key makes Flask-Limiter skip the limit; such a body fails validation anyway.
    return f"account:{name.strip().casefold()}" if isinstance(name, str) and name.strip() else ""


def init_app(app: Flask) -> Limiter:
    limiter = limiter_for(app, client_address, "hall-auth", MESSAGE)
    for endpoint in LIMITED_ENDPOINTS:
        view: Any = app.view_functions[endpoint]
        view = limiter.limit(lambda: get_settings().challenge_limit_per_account, key_func=account)(view)
        view = limiter.limit(lambda: get_settings().challenge_limit_per_address, key_func=client_address)(view)
        app.view_functions[endpoint] = view
    for endpoint in ADDRESS_LIMITED_ENDPOINTS:
        view = app.view_functions[endpoint]
        view = limiter.limit(lambda: get_settings().challenge_limit_per_address, key_func=client_address)(view)
        app.view_functions[endpoint] = view
    return limiter
