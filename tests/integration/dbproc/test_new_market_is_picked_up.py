"""A market listed while the DB processor runs is read without a restart, including the events
its engine settled before the processor noticed it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import redis

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from tests.integration.dbproc.harness import DbprocProcess, fetch, list_market, wait_written
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer


def test_a_market_listed_after_start_is_written_too(
    dbproc: DbprocProcess, redis_server: RedisServer, redis_client: redis.Redis,
    markets: dict[str, MarketSpec], database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    assert "cryptex_dbproc_markets 1.0" in dbproc.get("/metrics")[1]
    list_market(redis_client, "eth-usdc")
    eth = markets["ETH_USDC"]
    engine = EngineProcess(redis_server.url, eth, tmp_path, from_registry=True)
    engine.start()
    try:
        exchange = Exchange(redis_client, eth)
        exchange.fund(1, "USDC", "10000")
        exchange.fund(2, "ETH", "10")
        exchange.placed(2, Side.SELL, "2000.00", "1")
        exchange.placed(1, Side.BUY, "2000.00", "0.5")
        exchange.wait_settled()
    finally:
        engine.stop()
    wait_written(redis_client, ["ETH_USDC"])

    [trade] = fetch(database_url, "SELECT market, price, quantity FROM trades")
    assert trade == {"market": "ETH_USDC", "price": Decimal("2000.00"), "quantity": Decimal("0.5")}
    assert "cryptex_dbproc_markets 2.0" in dbproc.get("/metrics")[1]
