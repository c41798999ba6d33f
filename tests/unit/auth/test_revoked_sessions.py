"""A revoked session as the gateway learns it through a real Redis: the auth service records the id
(kept for the session's longest life) and announces it once the revocation commits; the gateway then
refuses the session without a service call (it may serve the page from its cache) and ends its live
streams, for a logout and for a revocation made at the auth service alone (a change of rights)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis

from gateway.homecache import HomeCache, Revoked, home_blocks
from gateway.session import token_session_id
from gateway.stream import END
from hall_common import live
from hall_common.settings import get_settings

from ..homecache_support import RedisServer, RunningHub, redis_server, running_hub, wait_until
from .conftest import A, full_login

__all__ = ["redis_server", "running_hub"]  # fixtures used below


def _home(session_id: str, cache: HomeCache, calls: list[str]) -> list[Any]:
    return home_blocks(A, session_id, A, "message", (
        lambda: calls.append("employer") or {}, lambda: {}, lambda: {}), cache=cache)


def _opened_stream(running: RunningHub, session_id: str) -> Any:
    async def open_one() -> Any:
        return running.hub.open(A, "live-1", session_id)

    return running.call(open_one())


def _read(running: RunningHub, queue: Any) -> bytes | None:
    async def read() -> bytes | None:
        return None if queue.empty() else queue.get_nowait()  # type: ignore[no-any-return]

    return running.call(read())  # type: ignore[return-value]


@pytest.mark.parametrize("how", ["logout", "permissions changed at the auth service"])
def test_a_revoked_session_is_refused_by_the_gateway_and_its_streams_end(
        how: str, client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str],
        running_hub: RunningHub, redis_server: RedisServer) -> None:
    session = full_login(client, A, "UK-A")
    session_id = token_session_id(session["token"])
    assert session_id  # the session's id, read from the token in the gateway's cookie
    calls: list[str] = []
    _home(session_id, running_hub.cache, calls)
    _home(session_id, running_hub.cache, calls)
    assert calls == ["employer"]  # the second page came from memory: no service checked the session
    stream = _opened_stream(running_hub, session_id)

    if how == "logout":
        response = client.post("/auth/logout", headers={"Authorization": f"Bearer {session['token']}"})
    else:
        response = client.put(f"/auth/operators/{A}/permissions", json={"permissions": ["employer_info"]},
                              headers=center_headers)
    assert response.status_code == 200

    stored = Redis.from_url(redis_server.url)
    ttl = stored.ttl(live.revoked_key(session_id))
    assert get_settings().session_absolute_seconds - 5 <= ttl <= get_settings().session_absolute_seconds
    wait_until(lambda: _read(running_hub, stream) == END, "the stream of the revoked session ends")
    with pytest.raises(Revoked):
        _home(session_id, running_hub.cache, calls)
    fresh = HomeCache()  # a gateway process that never saw the notice finds the recorded id
    fresh.online()
    with pytest.raises(Revoked):
        _home(session_id, fresh, calls)
    assert calls == ["employer"]
    stored.close()


def test_without_redis_the_gateway_asks_the_services(running_hub: RunningHub, redis_server: RedisServer) -> None:
    """The services check revocation themselves: with Redis gone the cache is bypassed, not trusted."""
    calls: list[str] = []
    _home("session-x", running_hub.cache, calls)
    _home("session-x", running_hub.cache, calls)
    redis_server.stop()
    wait_until(lambda: not running_hub.cache.serving, "the Hub notices the lost subscription")
    _home("session-x", running_hub.cache, calls)
    assert calls == ["employer", "employer"]
