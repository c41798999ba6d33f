"""The gateway's pods have no fixed address in a cluster: the auth service believes the browser's
address they forward when they are in a trusted network (HALL_TRUSTED_PROXIES=10.0.0.0/8), and still
no one else's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hall_common.settings import Settings, reset_settings

from .conftest import make_app
from .test_auth_keys import _challenge


def test_a_gateway_pod_in_the_trusted_network_forwards_the_browsers_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ADDRESS", "4 per minute")
    monkeypatch.setenv("HALL_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")
    reset_settings()
    client = make_app("auth").test_client()
    # Two gateway pods forward five browsers each: every browser has its own count.
    for pod in ("10.1.2.3", "10.7.0.9"):
        answers = [_challenge(client, "100100098", pod, **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code
                   for i in range(5)]
        assert answers == [200] * 5, pod
    # Outside the network an X-Forwarded-For is hearsay: the caller's own address is counted.
    spoofed = [_challenge(client, "100100097", "203.0.113.7", **{"X-Forwarded-For": f"192.0.2.{100 + i}"})
               .status_code for i in range(5)]
    assert spoofed == [200] * 4 + [429]


def test_a_trusted_proxy_that_is_no_address_stops_the_process_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="10.0.0.0/33"):
        Settings(trusted_proxies="127.0.0.1,10.0.0.0/33")
    assert Settings(trusted_proxies="127.0.0.1, ::1, 10.0.0.0/8").trusted_proxies
