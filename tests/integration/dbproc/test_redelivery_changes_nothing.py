"""A redelivered batch changes nothing: the whole stream read again, and entries that were
written but never acknowledged (a crash between commit and XACK) taken over by a new instance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import redis

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import Side, TimeInForce
from tests.integration.dbproc.harness import DbprocProcess, tables, wait_written, write_once
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer


def trade_a_little(exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    for i in range(10):
        exchange.placed(2, Side.SELL, f"{150 + i}.00", "1")
        exchange.placed(1, Side.BUY, f"{150 + i}.00", "0.6")
        exchange.placed(1, Side.BUY, f"{150 + i}.50", "0.6", time_in_force=TimeInForce.IOC)
        exchange.wait_settled()  # one event entry at least per round


def test_the_whole_stream_read_again_changes_nothing(
    engine: EngineProcess, dbproc: DbprocProcess, exchange: Exchange, database_url: str,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    trade_a_little(exchange)
    wait_written(redis_client, ["SOL_USDC"])
    before = tables(database_url)
    assert len(before["trades"]) == 20

    redis_client.xgroup_setid(keys.events("SOL_USDC"), keys.EVENTS_GROUP, "0")
    wait_written(redis_client, ["SOL_USDC"])
    assert tables(database_url) == before
    assert (
        'cryptex_dbproc_duplicate_trades_total{market="SOL_USDC"} 20.0' in dbproc.get("/metrics")[1]
    )


def test_entries_written_but_never_acknowledged_are_taken_over_without_effect(
    engine: EngineProcess, exchange: Exchange, database_url: str, redis_server: RedisServer,
    redis_client: redis.Redis, sol: MarketSpec, tmp_path: Path,
) -> None:  # fmt: skip
    trade_a_little(exchange)
    first = DbprocProcess(redis_server.url, database_url, tmp_path)
    first.start()  # migrates, writes everything, acknowledges
    wait_written(redis_client, ["SOL_USDC"])
    assert first.stop() == 0
    once = tables(database_url)

    # A consumer that reads the whole stream, writes it, and dies before its XACK.
    stream = keys.events("SOL_USDC")
    redis_client.xgroup_setid(stream, keys.EVENTS_GROUP, "0")
    reply = cast(Any, redis_client.xreadgroup(keys.EVENTS_GROUP, "crashed", {stream: ">"}))
    entries = [(entry_id.decode(), fields) for entry_id, fields in reply[0][1]]
    assert asyncio.run(write_once(database_url, redis_server.url, sol, entries)).duplicates == 20
    assert tables(database_url) == once

    second = DbprocProcess(redis_server.url, database_url, tmp_path, claim_idle_ms="50")
    second.start()
    try:
        wait_written(redis_client, ["SOL_USDC"])
        assert "took over entries" in second.log_path.read_text()
        assert tables(database_url) == once
    finally:
        assert second.stop() == 0
