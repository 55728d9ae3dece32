"""Rate limiting on a moving window, in-process by default or shared through Redis.

A thin adapter over the ``limits`` library so that callers speak of keys and limits, and the
storage (``FORECOURT_RATE_LIMIT_STORAGE``) is chosen once.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self._storage = storage_from_string(storage_uri)
        self._strategy = MovingWindowRateLimiter(self._storage)

    @staticmethod
    def limit(spec: str) -> RateLimitItem:
        """``"5 per 15 minutes"``, ``"10/second"`` … (the ``limits`` notation)."""
        return parse(spec)

    def would_allow(self, item: RateLimitItem, *key: str) -> bool:
        return bool(self._strategy.test(item, *key))

    def hit(self, item: RateLimitItem, *key: str) -> bool:
        """Count one event; False when the limit was already reached (the event is not counted)."""
        return bool(self._strategy.hit(item, *key))

    def retry_after(self, item: RateLimitItem, *key: str) -> int:
        stats = self._strategy.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def clear(self, item: RateLimitItem, *key: str) -> None:
        self._strategy.clear(item, *key)

    def reset(self) -> None:
        self._storage.reset()
