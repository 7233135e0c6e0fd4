"""Candles equal a recomputation from the trades table (in SQL, the obvious way), over trades
spread across minutes, hours and days, with several trades in one millisecond."""

from __future__ import annotations

import random

import redis

from cryptex.wire import CancelAllOrders, Side
from tests.integration.dbproc.harness import (
    RECOMPUTED_CANDLES,
    STORED_CANDLES,
    DbprocProcess,
    fetch,
    wait_written,
)
from tests.integration.engine.harness import EngineProcess, Exchange


def test_candles_equal_a_recomputation_from_the_trades(
    engine: EngineProcess, dbproc: DbprocProcess, exchange: Exchange, database_url: str,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    rng = random.Random(5)
    exchange.fund(1, "USDC", "1000000")
    exchange.fund(2, "SOL", "10000")
    exchange.ts = 1_700_006_390_000  # 10 s before a 1h boundary: it and 1m, 5m, 15m are crossed
    for _ in range(60):
        exchange.ts += rng.choice((0, 1_000, 20_000, 90_000, 400_000, 3_000_000))
        price = f"{rng.randint(140, 160)}.{rng.randint(0, 99):02d}"
        exchange.placed(2, Side.SELL, price, f"{rng.randint(1, 30) / 10:.1f}")
        exchange.placed(1, Side.BUY, price, f"{rng.randint(1, 30) / 10:.1f}")  # may rest
    exchange.ts += 86_400_000  # a second day, on an empty book
    exchange.control(CancelAllOrders(exchange.next_ts()))
    for price in ("150.02", "150.00", "150.01"):
        exchange.placed(2, Side.SELL, price, "0.1")
    taker = exchange.placed(1, Side.BUY, "150.02", "0.3")  # three trades in one millisecond
    exchange.wait_settled()
    wait_written(redis_client, ["SOL_USDC"])

    stored = fetch(database_url, STORED_CANDLES)
    assert stored == fetch(database_url, RECOMPUTED_CANDLES)
    [count] = fetch(database_url, "SELECT count(*) AS n FROM trades")
    assert count["n"] > 60
    intervals = {row["interval"] for row in stored}
    assert intervals == {"1m", "5m", "15m", "1h", "1d"}
    assert sum(1 for row in stored if row["interval"] == "1d") == 2
    swept = fetch(database_url, "SELECT price FROM trades WHERE taker_order_id = $1", taker)
    assert [str(row["price"]) for row in swept] == ["150.00", "150.01", "150.02"]
    [last_day] = [row for row in stored if row["interval"] == "1d"][-1:]
    assert (str(last_day["open"]), str(last_day["close"])) == ("150.00", "150.02")
