"""The login under concurrent attack, against the running auth service (SQLite, or PostgreSQL with
HALL_TEST_POSTGRES): the lockout counted exactly, a challenge used once, the challenge rate limit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from deploy import demo_data as demo
from deploy.stack import Stack
from services.auth.accounts import hash_password
from services.auth.models import ACTIVE, EMPLOYER, Operator, UKey, UKeyBinding

from ..threads import at_once

PASSWORD = "Right2026pw"
GENERIC = "登录失败：单位账号、登录名称、密码或UKey验证未通过"


@pytest.fixture
def own_account(stack: Stack) -> Iterator[Callable[[str], None]]:
    """Employer accounts of the test's own, managed by the demo UKey, so that locking one disturbs no
    other test; removed afterwards, so the demo UKey's choice of employers is as the other tests expect."""
    engine = sa.create_engine(stack.database_url("auth"))
    made: list[str] = []

    def make(login: str) -> None:
        with Session(engine) as session:
            session.add(Operator(login_name=login, role=EMPLOYER, display_name="并发测试", employer_no=login,
                                 employer_name="并发测试单位", password_hash=hash_password(PASSWORD),
                                 must_change_password=False, permissions=[]))
            ukey_id = session.scalar(
                sa.select(UKey.id).where(UKey.token_label == demo.UKEY_LABEL, UKey.status == ACTIVE))
            assert ukey_id is not None
            session.add(UKeyBinding(ukey_id=ukey_id, login_name=login))
            session.commit()
        made.append(login)

    yield make
    with Session(engine) as session:
        session.execute(sa.delete(UKeyBinding).where(UKeyBinding.login_name.in_(made)))
        session.commit()
    engine.dispose()


def _failed_attempts(stack: Stack, login: str) -> int:
    engine = sa.create_engine(stack.database_url("auth"))
    with engine.connect() as connection:
        count = connection.scalar(sa.select(Operator.failed_attempts).where(Operator.login_name == login))
    engine.dispose()
    return int(count or 0)


def _signed_body(stack: Stack, login: str, password: str) -> dict[str, str]:
    """What the login page posts: a fresh challenge signed by the demo UKey through the running agent."""
    found = httpx.post(stack.url("auth") + "/auth/challenge", json={"employer_no": login, "login_name": login})
    assert found.status_code == 200, found.text
    challenge = found.json()
    signed = httpx.post(stack.agent_url + "/sign", json={"nonce": challenge["nonce"], "pin": demo.UKEY_PIN},
                        headers={"Origin": stack.url("gateway")})
    assert signed.status_code == 200, signed.text
    return {"employer_no": login, "login_name": login, "password": password,
            "challenge_id": challenge["challenge_id"], **signed.json()}


def _login(stack: Stack, body: dict[str, str]) -> Callable[[], tuple[int, str]]:
    def call() -> tuple[int, str]:
        response = httpx.post(stack.url("auth") + "/auth/login", json=body, timeout=60)
        return response.status_code, str(response.json().get("message") or response.json().get("stage"))

    return call


def test_twenty_concurrent_wrong_passwords_check_at_most_five_then_lock(
    stack: Stack, own_account: Callable[[str], None]
) -> None:
    login = "100100077"
    own_account(login)
    bodies = [_signed_body(stack, login, f"wrong-guess{i}") for i in range(20)]
    answers = Counter(at_once([_login(stack, body) for body in bodies]))

    checked = {(401, f"{GENERIC}，还可尝试{left}次"): 1 for left in (4, 3, 2, 1)}
    checked[(403, "密码连续错误5次，账号已锁定15分钟")] = 1
    assert answers == Counter({**checked, (403, "密码连续错误次数过多，账号已锁定，请15分钟后再试"): 15})
    assert _failed_attempts(stack, login) == 5
    # The right password with the right UKey now waits for the lock to run out.
    assert _login(stack, _signed_body(stack, login, PASSWORD))() == (
        403, "密码连续错误次数过多，账号已锁定，请15分钟后再试")


def test_ten_concurrent_uses_of_one_challenge_log_in_once(stack: Stack, own_account: Callable[[str], None]) -> None:
    login = "100100078"
    own_account(login)
    body = _signed_body(stack, login, PASSWORD)
    answers = Counter(at_once([_login(stack, body) for _ in range(10)]))
    assert answers == Counter({(200, "select"): 1, (401, "登录挑战已使用，请重新登录"): 9})
    assert _failed_attempts(stack, login) == 0


def test_challenges_over_the_limit_answer_429_through_redis(stack: Stack) -> None:
    # The stack allows 30 challenges a minute per account (conftest); an unknown name counts as well.
    login = "rate-limited-name"

    def ask() -> httpx.Response:
        return httpx.post(stack.url("auth") + "/auth/challenge", json={"employer_no": login, "login_name": login})

    answers = [ask().status_code for _ in range(30)]
    assert answers == [200] * 30
    refused: Any = ask()
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "status": "Too Many Requests", "message": "登录请求过于频繁，请稍后再试"}
    # The count lives in the stack's Redis, shared by every process of the auth service.
    import redis

    assert list(redis.Redis.from_url(stack.redis_url).scan_iter(match=f"*account:{login}*"))
    # Another account from the same address still gets its challenge.
    other = httpx.post(stack.url("auth") + "/auth/challenge", json={"employer_no": "x1", "login_name": "x1"})
    assert other.status_code == 200
