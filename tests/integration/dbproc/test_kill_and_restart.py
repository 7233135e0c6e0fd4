"""Kill -9 the DB processor in the middle of its work, three times, and restart it as a new
instance: every trade is in the table exactly once, candles still equal a recomputation from
the trades, and every order row matches the ledger."""

from __future__ import annotations

import random
import time
from pathlib import Path

import redis

from cryptex.markets import MarketSpec
from cryptex.wire import Side, TimeInForce, TradeExecuted
from tests.integration.dbproc.harness import (
    RECOMPUTED_CANDLES,
    STORED_CANDLES,
    DbprocProcess,
    as_recorded,
    exact,
    fetch,
    wait_written,
)
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer

KILLS = 3


def test_kill_9_mid_batch_then_restart_writes_every_trade_once(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange,
    database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    # Small engine batches make many event entries; the processor writes one per transaction.
    engine = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True, batch_size="8")
    engine.start()
    rng = random.Random(11)
    exchange.fund(1, "USDC", "1000000")
    exchange.fund(2, "SOL", "10000")
    placed = []
    for _ in range(600):
        price = f"{rng.randint(149, 151)}.{rng.randint(0, 9)}0"
        placed.append(exchange.placed(2, Side.SELL, price, "0.5"))
        tif = rng.choice((TimeInForce.GTC, TimeInForce.IOC))
        placed.append(exchange.placed(1, Side.BUY, price, "0.4", time_in_force=tif))
    exchange.wait_settled()
    engine.stop()
    trades = [e for e in exchange.events() if isinstance(e, TradeExecuted)]
    assert len(trades) > 400

    settings = {"batch_size": "1", "claim_idle_ms": "100"}
    for kill in range(KILLS):
        dbproc = DbprocProcess(redis_server.url, database_url, tmp_path, **settings)
        dbproc.start()
        target = len(trades) * (kill + 1) // (KILLS + 1)
        deadline = time.monotonic() + 20
        while written(database_url) < target and time.monotonic() < deadline:
            time.sleep(rng.uniform(0, 0.005))
        dbproc.kill()
        assert written(database_url) < len(trades), "killed after the end: not mid-work"

    dbproc = DbprocProcess(redis_server.url, database_url, tmp_path, **settings)
    dbproc.start()
    try:
        wait_written(redis_client, ["SOL_USDC"])
    finally:
        assert dbproc.stop() == 0

    ids = [row["trade_id"] for row in fetch(database_url, "SELECT trade_id FROM trades")]
    assert sorted(ids) == sorted(trade.trade_id for trade in trades)
    assert fetch(database_url, STORED_CANDLES) == fetch(database_url, RECOMPUTED_CANDLES)
    orders = {row["order_id"]: exact(row) for row in fetch(database_url, "SELECT * FROM orders")}
    assert orders == {i: as_recorded(exchange.ledger, sol, i) for i in placed}


def written(database_url: str) -> int:
    count: int = fetch(database_url, "SELECT count(*) AS n FROM trades")[0]["n"]
    return count
