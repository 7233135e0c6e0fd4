"""`cryptex.redis_access` across a Redis restart: the connections pooled before the crash are
replaced before their next command, so no command fails once Redis answers again (the API
answered an odd 500 after a restart when each stale connection failed its next command)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptex.redis_access import connect, connect_async
from tests.servers import RedisServer

POOLED = 20  # connections in use at once before the crash, so the pool keeps that many


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_async_pool_reconnects_every_stale_connection(server: RedisServer) -> None:
    async def scenario() -> None:
        client = connect_async(server.url)
        try:
            await client.set("k", "v")
            await asyncio.gather(*(client.get("k") for _ in range(POOLED)))
            assert len(client.connection_pool._available_connections) == POOLED
            # In a thread: the event loop runs on, as in a service, and reads each socket's end.
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            await asyncio.to_thread(server.start)
            for _ in range(POOLED):  # one at a time: each takes the next stale connection
                assert await client.get("k") == b"v"
            replies = await asyncio.gather(*(client.get("k") for _ in range(2 * POOLED)))
            assert replies == [b"v"] * (2 * POOLED)
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_sync_pool_reconnects_a_stale_connection(server: RedisServer) -> None:
    client = connect(server.url)
    try:
        client.set("k", "v")
        server.stop(signal.SIGKILL)
        server.start()
        assert client.get("k") == b"v"
    finally:
        client.close()
