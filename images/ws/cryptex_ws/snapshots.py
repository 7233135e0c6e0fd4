"""Depth snapshot messages: `keys.depth(M)` (the engine writes it in the same atomic script that
publishes each diff) as `{"e": "depthSnapshot", "lastUpdateId", "bids", "asks"}`.

Read only after the reader's subscription is registered, so that every diff after the
snapshot's lastUpdateId reaches the reader. The frame made from the last value read is reused
while the book has not changed: a reconnect storm reads Redis, but formats once."""

from __future__ import annotations

from typing import Final, cast

import msgspec
import redis.asyncio

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import DepthSnapshot
from cryptex_ws import messages
from cryptex_ws.fanout import text_frame
from cryptex_ws.streams import Kind, Stream

_snapshot = msgspec.msgpack.Decoder(DepthSnapshot).decode
_EMPTY: Final = DepthSnapshot(0, [], [])


class DepthSnapshots:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._last: dict[str, tuple[bytes, bytes]] = {}  # symbol -> (raw, frame)

    async def read(self, market: MarketSpec) -> DepthSnapshot:
        raw = cast(bytes | None, await self._client.get(keys.depth(market.symbol)))
        return _snapshot(raw) if raw else _EMPTY

    async def frame(self, market: MarketSpec) -> bytes:
        raw = cast(bytes | None, await self._client.get(keys.depth(market.symbol))) or b""
        cached = self._last.get(market.symbol)
        if cached is not None and cached[0] == raw:
            return cached[1]
        snapshot = _snapshot(raw) if raw else _EMPTY
        stream = Stream(Kind.DEPTH, market.symbol).name
        frame = text_frame(messages.envelope(stream, messages.depth_snapshot(market, snapshot)))
        self._last[market.symbol] = (raw, frame)
        return frame
