"""The markets this process serves: those listed in the registry, and among them those whose
Redis channels are confirmed subscribed (*ready*: open to SUBSCRIBE). The feed keeps it; the
sessions and the balances pusher read it."""

from __future__ import annotations

import asyncio
import math
from typing import Final

from cryptex.markets import AssetSpec, MarketSpec

_READY_WAIT_S: Final = 2.0  # how long a SUBSCRIBE waits for a listed market's channels


class MarketDirectory:
    def __init__(self) -> None:
        self.listed: dict[str, MarketSpec] = {}
        self.ready: dict[str, MarketSpec] = {}
        self.binance_ids: dict[str, str] = {}  # solusdc -> SOL_USDC, for Binance's streams
        self._changed = asyncio.Event()
        self.last_refresh = -math.inf  # monotonic time of the last good registry read

    def assets(self) -> dict[str, AssetSpec]:
        found: dict[str, AssetSpec] = {}
        for market in self.listed.values():
            found[market.base.symbol] = market.base
            found[market.quote.symbol] = market.quote
        return found

    async def market(self, symbol: str) -> MarketSpec | None:
        """A ready market; one that is listed but not ready yet is waited for, briefly."""
        deadline = asyncio.get_running_loop().time() + _READY_WAIT_S
        while symbol not in self.ready and symbol in self.listed:
            changed = self._changed
            try:
                async with asyncio.timeout_at(deadline):
                    await changed.wait()
            except TimeoutError:
                break
        return self.ready.get(symbol)

    def unsure(self, symbol: str) -> bool:
        """Whether a market that is not ready may still be one: it is listed (its channels
        are not confirmed: Redis is away), or the registry has not been read yet."""
        return symbol in self.listed or self.last_refresh == -math.inf

    def set_ready(self, market: MarketSpec) -> None:
        self.ready[market.symbol] = market
        self._notify()

    def unset_ready(self, symbol: str | None = None) -> None:
        """One market, or every market (the pubsub connection was lost)."""
        if symbol is None:
            self.ready.clear()
        else:
            self.ready.pop(symbol, None)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
