"""Markets follow the registry without a restart; the server reconnects to a restarted Redis
(and sends depth subscribers a fresh snapshot); `/healthz` and `/metrics`; SIGTERM closes every
connection with 1001."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis

from cryptex import keys, registry
from cryptex.wire import PublicTrade, Side, encode
from tests.integration.ws.conftest import manifest
from tests.integration.ws.harness import Client, WsProcess
from tests.servers import RedisServer


async def test_a_new_listing_is_served_and_a_delisting_ends_its_streams(
    ws: WsProcess, listed: redis.Redis, open_client: Callable[[], Awaitable[Client]]
) -> None:
    client = await open_client()
    unknown = await client.request("SUBSCRIBE", ["trades@BTC_USDC"])
    assert unknown["error"] == {"code": -1121, "msg": "unknown market BTC_USDC"}

    registry.register(listed, manifest("BTC_USDC"))
    for _ in range(50):  # the registry is read every 0.2 s in these tests
        reply = await client.request("SUBSCRIBE", ["trades@btc/usdc"])
        if "result" in reply:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("BTC_USDC was never served")
    listed.publish(
        keys.trades_channel("BTC_USDC"), encode([PublicTrade(1, 650_000, 2, Side.BUY, 1)])
    )
    await client.until(lambda: client.data("trades@BTC_USDC"))
    assert client.data("trades@BTC_USDC")[0]["price"] == "65000.0"

    registry.unregister(listed, "BTC_USDC")
    await client.until(lambda: client.unsolicited)
    assert client.unsolicited[0]["error"] == {
        "code": -1121, "msg": "market BTC_USDC was delisted: its streams ended",
    }  # fmt: skip
    assert (await client.request("LIST_SUBSCRIPTIONS"))["result"] == []


async def test_the_server_follows_redis_through_a_restart(
    tmp_path: Path, start_ws: Callable[..., WsProcess]
) -> None:
    own = RedisServer(tmp_path / "redis", appendfsync="everysec")
    own.start()
    try:
        registry.register(own.client(), manifest("SOL_USDC"))
        ws = WsProcess(own.url, tmp_path)
        ws.start()
        client = await Client.open(ws.url)
        await client.subscribe("trades@SOL_USDC", "depth@SOL_USDC")
        own.stop()
        await asyncio.sleep(0.3)
        assert ws.http("/healthz")[0] == 503
        own.start()
        for _ in range(100):
            if ws.http("/healthz")[0] == 200:
                break
            await asyncio.sleep(0.05)
        assert ws.http("/healthz") == (200, "ok\n")
        own.client().publish(
            keys.trades_channel("SOL_USDC"), encode([PublicTrade(7, 15_000, 1_000, Side.SELL, 1)])
        )
        await client.until(lambda: client.data("trades@SOL_USDC"))  # the same connection
        assert client.data("trades@SOL_USDC")[0]["id"] == 7
        # Diffs may have been missed meanwhile: depth subscribers get a fresh snapshot.
        snapshots = [d for d in client.data("depth@SOL_USDC") if d["e"] == "depthSnapshot"]
        assert len(snapshots) == 2
        await client.close()
        assert ws.stop() == 0
    finally:
        own.stop()


async def test_health_metrics_and_shutdown(
    ws: WsProcess, open_client: Callable[[], Awaitable[Client]]
) -> None:
    assert ws.http("/healthz") == (200, "ok\n")  # the WebSocket port answers probes too
    assert ws.http("/healthz", ws.metrics_port) == (200, "ok\n")
    client = await open_client()
    await client.subscribe("depth@SOL_USDC", "kline_5m@SOL_USDC")
    assert ws.metric("cryptex_ws_connections") == 1
    assert ws.metric('cryptex_ws_subscriptions{kind="kline"}') == 1
    assert ws.metric("cryptex_ws_markets") == 1
    assert ws.metric("cryptex_ws_redis_up") == 1
    assert ws.http("/", ws.port)[0] == 426  # a plain request to the WebSocket port

    assert await asyncio.to_thread(ws.stop) == 0  # the loop answers the close meanwhile
    await asyncio.wait_for(client.ws.wait_closed(), 5)
    assert (client.ws.close_code, client.ws.close_reason) == (1001, "")
