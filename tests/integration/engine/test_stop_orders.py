"""Stop orders through the engine and the ledger: the lock taken at placement pays for what a
triggered stop trades and the rest returns once (the audit holds after every batch); a waiting
stop survives a restart from a snapshot, and the restarted engine goes on exactly as before."""

from __future__ import annotations

import pytest
import redis

from cryptex.ledger import Balance
from cryptex.markets import MarketSpec
from cryptex.settings import EngineSettings
from cryptex.wire import OrderStatus, OrderTriggered, OrderType, Side
from cryptex_engine.service import Engine
from tests.integration.engine.harness import Exchange, settle_all


@pytest.fixture
def engine(redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange) -> Engine:
    settings = EngineSettings(market=sol.symbol, instance="only", snapshot_interval_s=3600)
    engine = Engine(redis_client, sol, settings)
    engine.start()
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    exchange.fund(3, "USDC", "10000")
    return engine


def settled(engine: Engine, exchange: Exchange) -> None:
    """Every command queued so far settled, and the ledger's audit holds after it."""
    settle_all(engine, exchange)
    report = exchange.ledger.audit()
    assert report.ok, report.problems


def traded_at_100(engine: Engine, exchange: Exchange) -> None:
    exchange.placed(2, Side.SELL, "100", "1")
    exchange.placed(1, Side.BUY, "100", "1")
    settled(engine, exchange)


def test_triggered_stops_trade_with_their_placement_lock_and_release_the_rest_once(
    engine: Engine, exchange: Exchange
) -> None:
    traded_at_100(engine, exchange)
    # A stop-market buy at 101 (protection 106), and a stop-limit buy at 102 it will trigger.
    first = exchange.placed(
        3, Side.BUY, None, "2", order_type=OrderType.STOP_LOSS, stop_price="101",
        protection_price="106",
    )  # fmt: skip
    second = exchange.placed(
        3, Side.BUY, "103", "1", order_type=OrderType.STOP_LOSS_LIMIT, stop_price="102"
    )
    settled(engine, exchange)
    locked = exchange.market.buy_lock(10_600, 2_000) + exchange.market.buy_lock(10_300, 1_000)
    assert exchange.ledger.balances(3)["USDC"] == Balance(10_000 * 10**6 - locked, locked)

    exchange.placed(2, Side.SELL, "101", "1.5")
    exchange.placed(2, Side.SELL, "102", "3")
    exchange.placed(1, Side.BUY, "101", "0.5")  # a trade at 101 triggers the first stop
    settled(engine, exchange)

    events = exchange.events()
    assert [e.order_id for e in events if isinstance(e, OrderTriggered)] == [first, second]
    for order_id in (first, second):
        record = exchange.ledger.order(order_id)
        assert record is not None
        assert (record.status, record.locked) == (OrderStatus.FILLED, 0)
    # 1 SOL at 101 and 1 at 102 for the first, 1 at 102 for the second; 20 bps taker fees.
    spent = 101_000_000 + 102_000_000 * 2
    fees = 202_000 + 204_000 * 2
    assert exchange.ledger.balances(3)["USDC"] == Balance(10_000 * 10**6 - spent - fees, 0)
    assert exchange.ledger.balances(3)["SOL"] == Balance(3 * 10**8, 0)


def test_a_waiting_stop_survives_a_restart_and_still_triggers(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    traded_at_100(engine, exchange)
    stop = exchange.placed(
        2, Side.SELL, "98", "1", order_type=OrderType.STOP_LOSS_LIMIT, stop_price="99"
    )
    settled(engine, exchange)
    engine.snapshots.take()
    before = engine.book.state_hash()

    settings = EngineSettings(market=sol.symbol, instance="second", snapshot_interval_s=3600)
    engine.ledger.release_lease(sol.symbol, engine.settings.instance)
    restarted = Engine(redis_client, sol, settings)
    restarted.start()
    assert restarted.book.state_hash() == before

    exchange.placed(1, Side.BUY, "99", "2")
    exchange.placed(2, Side.SELL, "99", "1")  # a trade at 99 triggers the stop
    settled(restarted, exchange)
    record = exchange.ledger.order(stop)
    assert record is not None
    assert (record.status, record.executed) == (OrderStatus.FILLED, 1_000)
