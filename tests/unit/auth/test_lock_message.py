"""The lock's refusal tells the minutes left, never more than a lock lasts (a concurrent attempt whose
clock was read just before another attempt set the lock sees a little over the full 15 minutes)."""

from __future__ import annotations

import pytest

from services.auth.accounts import locked_refusal


@pytest.mark.parametrize(("seconds_left", "minutes"), [(900.4, 15), (900.0, 15), (61, 2), (59, 1), (0, 15), (-3, 15)])
def test_minutes_left_are_rounded_up_within_the_lock(seconds_left: float, minutes: int) -> None:
    refusal = locked_refusal(seconds_left)
    assert (refusal.status, refusal.message) == (403, f"密码连续错误次数过多，账号已锁定，请{minutes}分钟后再试")
