"""Request weights, as Binance counts them: each route costs a weight, a client address may
spend `request_weight_per_minute` in each calendar minute, and every answer reports what it has
spent (`X-MBX-USED-WEIGHT-1M`). Counted in this process, as the native limits are."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from cryptex_api.errors import ApiError, Code

_MAX_CLIENTS: Final = 100_000  # beyond this, the minute's counts start over


class RequestWeights:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._minute = 0
        self._used: dict[str, int] = {}

    def spend(self, client: str, weight: int) -> int:
        """Add `weight` to the client's minute and return its total, or raise a 429 (with
        Retry-After, to the next minute) when it would pass the limit."""
        now = self._clock()
        minute = int(now // 60)
        if minute != self._minute or len(self._used) >= _MAX_CLIENTS:
            self._minute, self._used = minute, {}
        used = self._used.get(client, 0) + weight
        if used > self.per_minute:
            retry_after = max(1, 60 - int(now % 60))
            raise ApiError(
                429,
                Code.TOO_MANY_REQUESTS,
                f"Too much request weight used; current limit is {self.per_minute} request "
                "weight per 1 MINUTE.",
                headers={"Retry-After": str(retry_after)},
            )
        self._used[client] = used
        return used
