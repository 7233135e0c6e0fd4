"""A client that stops reading is dropped (close code 1008 with a reason) once its send queue
is full, and the others receive every message all along."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cryptex import keys
from cryptex.wire import DepthDiff, PriceLevel, encode
from tests.integration.ws.harness import Client, WsProcess, read_until_closed

STREAM = "depth@SOL_USDC"
QUEUE_BYTES = 256 * 1024


def wide_diff(update_id: int) -> bytes:
    """A diff of 100 levels a side: about 3 KiB of JSON."""
    levels = [PriceLevel(14_000 + i, 1_000 + update_id) for i in range(100)]
    return encode(DepthDiff(update_id, update_id, levels, levels))


async def test_a_client_that_stops_reading_is_dropped_alone(
    listed: redis.Redis, start_ws: Callable[..., WsProcess]
) -> None:
    ws = start_ws(send_queue_bytes=str(QUEUE_BYTES), close_timeout_s="20")
    # The client library stops reading its socket when 2 messages wait that nobody took: the
    # kernel's buffers fill, then the server's send queue.
    slow = await connect(ws.url, max_queue=2)
    readers = [await Client.open(ws.url) for _ in range(2)]
    try:
        await slow.send('{"method": "SUBSCRIBE", "params": ["depth@SOL_USDC"], "id": 1}')
        assert await slow.recv() == '{"result":null,"id":1}'
        for reader in readers:
            await reader.subscribe(STREAM)

        published = 0
        while ws.metric('cryptex_ws_disconnects_total{reason="slow_consumer"}') == 0:
            for _ in range(50):
                published += 1
                listed.publish(keys.depth_channel("SOL_USDC"), wide_diff(published))
            await asyncio.sleep(0.01)
            assert published < 20_000, "the slow client was never dropped"
        assert ws.metric("cryptex_ws_connections") == 2  # the slow one is gone already
        for _ in range(20):  # the others go on receiving
            published += 1
            listed.publish(keys.depth_channel("SOL_USDC"), wide_diff(published))
        for reader in readers:
            await reader.until(lambda r=reader: len(r.data(STREAM)) == published + 1)
            assert [d["u"] for d in reader.data(STREAM)[1:]] == list(range(1, published + 1))

        # Reading again, the slow client finds the backlog, then the server's close frame.
        backlog: list[str | bytes] = []
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(slow, backlog)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            1008, "slow consumer: send queue full",
        )  # fmt: skip
        assert 0 < len(backlog) < published
    finally:
        for reader in readers:
            await reader.close()
        await slow.close()
