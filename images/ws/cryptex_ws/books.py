"""Each market's book as the server follows it: the depth snapshot (`keys.depth`), then every
diff in update-id order. It gives Binance's streams that are made from the book rather than
from a diff: the best levels (`@bookTicker`, `@ticker`'s `b`/`a`) and the partial depths
(`@depth5/10/20`).

The snapshot holds the engine's best levels only (CRYPTEX_DEPTH_LEVELS), so a side the diffs
thin out below `REFRESH_BELOW` levels, from more, may be missing deeper levels the snapshot left
out: the book is then *stale*, as after a gap in the update ids, and the feed reads the
snapshot again. Pure: no I/O."""

from __future__ import annotations

import heapq
from typing import Final

from cryptex.wire import DepthDiff, DepthSnapshot, PriceLevel

REFRESH_BELOW: Final = 20  # the deepest partial depth Binance offers


class LocalBook:
    def __init__(self) -> None:
        self.bids: dict[int, int] = {}  # ticks -> lots
        self.asks: dict[int, int] = {}
        self.last_update_id = 0
        self.stale = True  # until a snapshot is loaded
        self._loaded = (0, 0)  # levels per side when last loaded

    def load(self, snapshot: DepthSnapshot) -> None:
        self.bids = {level.price: level.quantity for level in snapshot.bids}
        self.asks = {level.price: level.quantity for level in snapshot.asks}
        self.last_update_id = snapshot.last_update_id
        self._loaded = (len(self.bids), len(self.asks))
        self.stale = False

    def apply(self, diff: DepthDiff) -> bool:
        """Apply a diff; False if it changed nothing here (older than the book, or the book is
        stale: a gap in the ids, or a side thinned out)."""
        if self.stale or diff.last_update_id <= self.last_update_id:
            return False
        if diff.first_update_id > self.last_update_id + 1:
            self.stale = True
            return False
        for side, changes in ((self.bids, diff.bids), (self.asks, diff.asks)):
            for level in changes:
                if level.quantity:
                    side[level.price] = level.quantity
                else:
                    side.pop(level.price, None)
        self.last_update_id = diff.last_update_id
        loaded_bids, loaded_asks = self._loaded
        if _thinned(loaded_bids, len(self.bids)) or _thinned(loaded_asks, len(self.asks)):
            self.stale = True
        return True

    def best(self) -> tuple[PriceLevel | None, PriceLevel | None]:
        bid = max(self.bids) if self.bids else None
        ask = min(self.asks) if self.asks else None
        return (
            PriceLevel(bid, self.bids[bid]) if bid is not None else None,
            PriceLevel(ask, self.asks[ask]) if ask is not None else None,
        )

    def top(self, levels: int) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """The best `levels` of each side, best first."""
        bids = heapq.nlargest(levels, self.bids)
        asks = heapq.nsmallest(levels, self.asks)
        return (
            [PriceLevel(price, self.bids[price]) for price in bids],
            [PriceLevel(price, self.asks[price]) for price in asks],
        )


def _thinned(loaded: int, now: int) -> bool:
    return loaded >= REFRESH_BELOW > now
