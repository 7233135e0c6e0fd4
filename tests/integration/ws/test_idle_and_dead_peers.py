"""Heartbeats: a peer that stops answering pings is closed; a connection that subscribes to
nothing for the idle timeout is closed (1000); subscribed, answering clients stay."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable

import redis

from tests.integration.ws.harness import Client, WsProcess


async def test_dead_and_idle_peers_are_closed_and_live_ones_stay(
    listed: redis.Redis, start_ws: Callable[..., WsProcess]
) -> None:
    ws = start_ws(
        ping_interval_s="0.2", ping_timeout_s="0.3", close_timeout_s="0.3", idle_timeout_s="1"
    )
    # A peer that completes the handshake, then never reads or answers anything again.
    dead = socket.create_connection(("127.0.0.1", ws.port))
    key = base64.b64encode(os.urandom(16)).decode()
    dead.sendall(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert dead.recv(4096).startswith(b"HTTP/1.1 101")
    idle = await Client.open(ws.url, ping_interval=None)
    live = await Client.open(ws.url)
    await live.subscribe("ticker@SOL_USDC")
    try:
        await asyncio.wait_for(idle.ws.wait_closed(), 5)
        assert (idle.ws.close_code, idle.ws.close_reason) == (1000, "idle: no subscription")
        for _ in range(100):
            if ws.metric("cryptex_ws_connections") == 1:
                break
            await asyncio.sleep(0.05)
        assert ws.metric("cryptex_ws_connections") == 1  # the dead peer is gone too
        assert ws.metric('cryptex_ws_disconnects_total{reason="idle"}') == 1
        assert await live.request("LIST_SUBSCRIPTIONS") == {"result": ["ticker@SOL_USDC"], "id": 2}
    finally:
        dead.close()
        await idle.close()
        await live.close()
