"""A SUBSCRIBE to a listed market while the server has lost Redis (found by the chaos soak: a
client that reconnected while Redis restarted): the answer says to try again (-1000), never
that the market is unknown (-1121), which a client takes for a wrong symbol and gives up on."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from cryptex import registry
from tests.integration.ws.conftest import manifest
from tests.integration.ws.harness import Client, WsProcess
from tests.servers import RedisServer


async def test_subscribe_while_redis_is_away_says_try_again(tmp_path: Path) -> None:
    own = RedisServer(tmp_path / "redis", appendfsync="everysec")
    own.start()
    ws = WsProcess(own.url, tmp_path)
    try:
        registry.register(own.client(), manifest("SOL_USDC"))
        ws.start()
        own.stop(signal.SIGKILL)
        await asyncio.sleep(0.3)
        client = await Client.open(ws.url)
        reply = await client.request("SUBSCRIBE", ["trades@SOL_USDC"])
        assert reply["error"]["code"] == -1000, reply
        assert "try again" in reply["error"]["msg"], reply
        unknown = await client.request("SUBSCRIBE", ["trades@DOGE_USDC"])
        assert unknown["error"]["code"] == -1121, unknown  # never listed: unknown still
        await client.close()
    finally:
        assert ws.stop() == 0
        own.stop()
