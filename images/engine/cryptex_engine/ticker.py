"""A 24-hour rolling ticker from trades, in one-minute buckets. Pure: the time is the trade's
command timestamp, never a clock, so a replay rebuilds the same ticker."""

from __future__ import annotations

from collections import deque
from typing import Final

from cryptex.wire import Ticker

MINUTE_MS: Final = 60_000
WINDOW_MS: Final = 24 * 60 * MINUTE_MS

# A bucket: [minute start ms, open, high, low, close, base volume (lots), quote volume (units),
# trade count, last trade ms]. Lists, because they are snapshotted as they are.
_START, _OPEN, _HIGH, _LOW, _CLOSE, _BASE, _QUOTE, _COUNT, _LAST = range(9)


class RollingTicker:
    def __init__(self, buckets: list[list[int]] | None = None) -> None:
        self._buckets: deque[list[int]] = deque(list(b) for b in buckets or ())

    def add(self, ts: int, price: int, lots: int, quote_units: int) -> None:
        minute = ts - ts % MINUTE_MS
        buckets = self._buckets
        if buckets and buckets[-1][_START] >= minute:
            bucket = buckets[-1]  # a timestamp behind the last minute joins it: never reorder
            if price > bucket[_HIGH]:
                bucket[_HIGH] = price
            if price < bucket[_LOW]:
                bucket[_LOW] = price
            bucket[_CLOSE] = price
            bucket[_BASE] += lots
            bucket[_QUOTE] += quote_units
            bucket[_COUNT] += 1
            bucket[_LAST] = max(bucket[_LAST], ts)
        else:
            buckets.append([minute, price, price, price, price, lots, quote_units, 1, ts])
        while buckets and buckets[0][_START] <= minute - WINDOW_MS:
            buckets.popleft()

    def ticker(self) -> Ticker | None:
        if not self._buckets:
            return None
        buckets = self._buckets
        return Ticker(
            last_price=buckets[-1][_CLOSE],
            open_price=buckets[0][_OPEN],
            high_price=max(b[_HIGH] for b in buckets),
            low_price=min(b[_LOW] for b in buckets),
            base_volume=sum(b[_BASE] for b in buckets),
            quote_volume=sum(b[_QUOTE] for b in buckets),
            trade_count=sum(b[_COUNT] for b in buckets),
            open_time=buckets[0][_START],
            close_time=buckets[-1][_LAST],
        )

    def buckets(self) -> list[list[int]]:
        return [list(b) for b in self._buckets]
