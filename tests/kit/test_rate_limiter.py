"""The rate limiter, in-process and shared through Redis (the multi-process set-up)."""

from __future__ import annotations

import uuid

from forecourt.kit.ratelimit import RateLimiter
from tests.fixtures.services import require_service


def test_a_moving_window_allows_exactly_the_limit():
    limiter = RateLimiter()
    limit = limiter.limit("3 per minute")
    assert [limiter.hit(limit, "k") for _ in range(4)] == [True, True, True, False]
    assert not limiter.would_allow(limit, "k")
    assert 1 <= limiter.retry_after(limit, "k") <= 60
    limiter.clear(limit, "k")
    assert limiter.would_allow(limit, "k")


def test_two_processes_share_one_limit_through_redis():
    require_service("Redis", "127.0.0.1", 6379)
    first, second = RateLimiter("redis://127.0.0.1:6379/15"), RateLimiter("redis://127.0.0.1:6379/15")
    limit = first.limit("4 per minute")
    key = uuid.uuid4().hex
    assert [first.hit(limit, key), second.hit(limit, key), first.hit(limit, key), second.hit(limit, key)] == [
        True
    ] * 4
    assert not first.hit(limit, key)
    assert not second.would_allow(limit, key)
