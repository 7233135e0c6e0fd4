"""`cryptex.redis_access` across a Redis restart: the connections pooled before the crash are
replaced before their next command, so no command fails once Redis answers again (the API
answered an odd 500 after a restart when each stale connection failed its next command)."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.exceptions
import uvloop

from cryptex.redis_access import connect, connect_async
from tests.servers import RedisSentinels, RedisServer

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


def test_a_socket_closed_under_a_connection_is_a_connection_error_on_uvloop(
    server: RedisServer,
) -> None:
    """Redis dying between the pool's connect and the first command (the chaos soak: the API's
    pool reconnected to a Redis being killed) closes the transport under the connection. uvloop
    then refuses the write with a RuntimeError, which redis-py passes on as it is: the API
    answered 500 where Redis being away is a 503 that says to try again."""
    uvloop.run(_closed_under_a_connection(server.url))


def test_the_same_through_sentinel() -> None:
    # Sentinel rewrites its config with absolute paths: not under pytest's long tmp names.
    with tempfile.TemporaryDirectory(prefix="cryptex-sentinel-") as directory:
        ha = RedisSentinels(Path(directory))
        ha.start()
        try:
            uvloop.run(_closed_under_a_connection(ha.url))
        finally:
            ha.stop()


async def _closed_under_a_connection(url: str) -> None:
    client = connect_async(url)
    try:
        await client.ping()
        pool = client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            connection._writer.transport.abort()
            with pytest.raises(redis.exceptions.ConnectionError):
                await connection.send_command("PING")
        finally:
            await pool.release(connection)
        assert await client.ping()  # the next command reconnects
    finally:
        await client.aclose()
