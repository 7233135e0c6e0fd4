"""Event streams do not grow for ever: entries written and acknowledged are trimmed once past
their retention, never an entry some consumer still holds, nor one not read yet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from cryptex import keys
from cryptex.wire import Side
from tests.integration.dbproc.harness import DbprocProcess, fetch, wait_written
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer

EVENTS = keys.events("SOL_USDC")


def trade(exchange: Exchange) -> None:
    exchange.placed(2, Side.SELL, "150.00", "1")
    exchange.placed(1, Side.BUY, "150.00", "1")
    exchange.wait_settled()


def entry_ids(client: redis.Redis) -> list[str]:
    entries = cast(list[tuple[bytes, Any]], client.xrange(EVENTS))
    return [entry_id.decode() for entry_id, _ in entries]


def eventually(condition: Any, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def funded(engine: EngineProcess, exchange: Exchange) -> Exchange:
    exchange.fund(1, "USDC", "100000")
    exchange.fund(2, "SOL", "1000")
    return exchange


def test_written_entries_are_trimmed_but_never_one_still_pending(
    redis_server: RedisServer, redis_client: redis.Redis, funded: Exchange, database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    trade(funded)
    # Another instance took the first entries and died before acknowledging them.
    redis_client.xgroup_create(EVENTS, keys.EVENTS_GROUP, id="0")
    held = cast(list[Any], redis_client.xreadgroup(keys.EVENTS_GROUP, "gone", {EVENTS: ">"}))
    held_ids = [entry_id.decode() for entry_id, _ in held[0][1]]
    trade(funded)
    trade(funded)
    before = entry_ids(redis_client)
    assert len(before) > len(held_ids)

    # Takeovers are far off: the held entries stay pending while the processor trims.
    dbproc = DbprocProcess(
        redis_server.url, database_url, tmp_path, events_retention_s="0", claim_idle_ms="600000"
    )
    dbproc.start()
    try:
        eventually(
            lambda: cast(int, redis_client.xinfo_groups(EVENTS)[0]["lag"]) == 0, "not all read"
        )
        time.sleep(0.5)  # a couple of registry refreshes, each of which trims
        assert entry_ids(redis_client)[0] == held_ids[0]  # nothing from the oldest pending on

        redis_client.xack(EVENTS, keys.EVENTS_GROUP, *held_ids)  # it came back and finished
        eventually(lambda: entry_ids(redis_client) == before[-1:], "written entries not trimmed")
        trade(funded)  # what comes next is read and written as before
        wait_written(redis_client, ["SOL_USDC"])
        trades = fetch(database_url, "SELECT trade_id FROM trades")
        assert len(trades) == 3  # the first trade's entries were acknowledged unwritten, above
        metrics = dbproc.get("/metrics")[1]
        assert 'cryptex_dbproc_trimmed_entries_total{market="SOL_USDC"}' in metrics
    finally:
        assert dbproc.stop() == 0


def test_entries_within_their_retention_stay(
    redis_server: RedisServer, redis_client: redis.Redis, funded: Exchange, database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    dbproc = DbprocProcess(redis_server.url, database_url, tmp_path)  # the default retention
    dbproc.start()
    try:
        trade(funded)
        trade(funded)
        wait_written(redis_client, ["SOL_USDC"])
        written = entry_ids(redis_client)
        time.sleep(0.5)  # a couple of registry refreshes, each of which trims
        assert entry_ids(redis_client) == written
    finally:
        assert dbproc.stop() == 0
