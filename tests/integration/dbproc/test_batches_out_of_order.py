"""Batches written in any order give the same tables: after a takeover a later batch can be
written before an earlier one, whose orders it changes before they are placed."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import redis

from cryptex import keys
from cryptex.db import migrate
from cryptex.markets import MarketSpec
from cryptex.wire import Side, TimeInForce
from tests.integration.dbproc.harness import tables, write_once
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer
from tests.streams import entries


async def reset(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        await migrate(pool)
        await pool.execute("TRUNCATE trades, orders, candles")
    finally:
        await pool.close()


def test_batches_written_out_of_order_give_the_same_tables(
    engine: EngineProcess, exchange: Exchange, database_url: str, redis_client: redis.Redis,
    redis_server: RedisServer, sol: MarketSpec,
) -> None:  # fmt: skip
    redis_url = redis_server.url
    rng = random.Random(3)
    exchange.fund(1, "USDC", "100000")
    exchange.fund(2, "SOL", "1000")
    resting: list[tuple[int, int]] = []
    for _ in range(12):
        for _ in range(4):
            price = f"{rng.randint(148, 152)}.00"
            resting.append((exchange.placed(2, Side.SELL, price, "0.5"), 2))
            tif = rng.choice((TimeInForce.GTC, TimeInForce.IOC))
            resting.append((exchange.placed(1, Side.BUY, price, "0.7", time_in_force=tif), 1))
        exchange.wait_settled()  # an entry per round at least: orders span several
        order_id, account = resting.pop(rng.randrange(len(resting)))
        if (record := exchange.ledger.order(order_id)) is not None and record.status.is_open:
            exchange.cancel(order_id, account)
    exchange.wait_settled()
    stream = entries(redis_client, keys.events("SOL_USDC"))
    assert len(stream) >= 12

    asyncio.run(reset(database_url))
    for entry in stream:
        asyncio.run(write_once(database_url, redis_url, sol, [entry]))
    in_order = tables(database_url)
    assert len(in_order["trades"]) > 20

    asyncio.run(reset(database_url))
    from_ledger = 0
    for entry in reversed(stream):
        written = asyncio.run(write_once(database_url, redis_url, sol, [entry]))
        from_ledger += written.orders_from_ledger
    assert tables(database_url) == in_order
    assert from_ledger > 0  # orders changed before the batch placing them was written
