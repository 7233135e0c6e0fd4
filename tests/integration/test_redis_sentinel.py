"""`cryptex.redis_access` through Redis Sentinel: the clients every service opens find the
primary by asking the Sentinels and follow a failover without a restart (a primary killed,
its replica promoted by a quorum of Sentinels)."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from cryptex.redis_access import connect, connect_async
from tests.servers import RedisSentinels

T = TypeVar("T")
FAILOVER_S = 30  # Sentinel's down-after (1 s), its vote and the replica's promotion


@pytest.fixture
def sentinels() -> Iterator[RedisSentinels]:
    # Sentinel rewrites its config with absolute paths: not under pytest's long tmp names.
    with tempfile.TemporaryDirectory(prefix="cryptex-sentinel-") as directory:
        ha = RedisSentinels(Path(directory))
        ha.start()
        try:
            yield ha
        finally:
            ha.stop()


def fail_over(ha: RedisSentinels) -> None:
    """Kill the primary (a crash) and wait until every Sentinel names the replica."""
    ha.primary.stop(signal.SIGKILL)
    ha.wait(lambda: ha.sentinels_agree(ha.replica.port), FAILOVER_S)


def until_answered(call: Callable[[], T]) -> T:
    """`call()` once the new primary answers: during the failover commands fail."""
    deadline = time.monotonic() + FAILOVER_S
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.ReadOnlyError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_sync_client_follows_a_failover(sentinels: RedisSentinels) -> None:
    client = connect(sentinels.url)
    try:
        client.set("before", "1")
        assert client.wait(1, 5000) == 1  # the replica has it
        fail_over(sentinels)
        assert until_answered(lambda: client.get("before")) == b"1"
        client.set("after", "2")  # a write: the client speaks to the promoted replica
        with sentinels.replica.client() as promoted:
            assert promoted.get("after") == b"2"
            assert promoted.info("replication")["role"] == "master"
    finally:
        client.close()


def test_the_async_client_follows_a_failover(sentinels: RedisSentinels) -> None:
    async def until(call: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + FAILOVER_S
        while True:
            try:
                return await call()
            except (redis.ConnectionError, redis.ReadOnlyError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def scenario() -> None:
        client = connect_async(sentinels.url)
        try:
            await client.set("before", "1")
            assert await client.wait(1, 5000) == 1
            await asyncio.to_thread(fail_over, sentinels)
            assert await until(lambda: client.get("before")) == b"1"
            await client.set("after", "2")
            with sentinels.replica.client() as promoted:
                assert promoted.get("after") == b"2"
        finally:
            await client.aclose()

    asyncio.run(scenario())
