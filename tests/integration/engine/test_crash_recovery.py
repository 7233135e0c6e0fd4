"""Kill -9 the engine at random instants under load, restart it, and prove that no acknowledged
order is lost, no fill is duplicated, the audit holds, and the final state equals that of one
uninterrupted run over the same commands."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import cast

import pytest
import redis

from cryptex.ledger import PlaceOutcome, read_snapshot
from cryptex.markets import MarketSpec
from cryptex.wire import (
    OrderAccepted,
    OrderRejected,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TradeExecuted,
    decode_engine_snapshot,
)
from cryptex_engine.book import OrderBook
from tests.integration.engine.harness import EngineProcess, Exchange, replay
from tests.servers import RedisServer

ACCOUNTS = range(1, 7)


class Load(threading.Thread):
    """Random orders and cancels from six accounts until stopped; remembers every order the
    ledger acknowledged."""

    def __init__(self, exchange: Exchange, seed: int) -> None:
        super().__init__(daemon=True)
        self.exchange = exchange
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.acknowledged: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        rng, exchange = self.rng, self.exchange
        try:
            while not self.stop.is_set():
                try:
                    self._one(rng, exchange)
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.05)  # Redis restarting: whatever was in flight is not counted
                if rng.random() < 0.05:
                    time.sleep(0.002)
        except BaseException as error:  # surfaced by the test
            self.error = error

    def _one(self, rng: random.Random, exchange: Exchange) -> None:
        account = rng.choice(ACCOUNTS)
        if self.acknowledged and rng.random() < 0.2:
            order_id = rng.choice(self.acknowledged)
            owner = exchange.ledger.order(order_id)
            if owner is not None:
                exchange.ledger.request_cancel(order_id, owner.account, exchange.next_ts())
            return
        side = rng.choice((Side.BUY, Side.SELL))
        price = f"{rng.randint(95, 105)}.{rng.randint(0, 99):02d}"
        qty = f"{rng.randint(1, 40) / 10:.3f}"
        options: dict[str, object] = {
            "self_trade_prevention": rng.choice(list(SelfTradePrevention)),
        }
        if rng.random() < 0.1:
            options["order_type"] = OrderType.MARKET
            options["protection_price"] = "106" if side is Side.BUY else "94"
            result = exchange.place(account, side, None, qty, **options)
        else:
            options["time_in_force"] = rng.choice(
                [TimeInForce.GTC] * 4 + [TimeInForce.IOC, TimeInForce.FOK]
            )
            options["post_only"] = rng.random() < 0.1
            if options["post_only"]:
                options["time_in_force"] = TimeInForce.GTC
            result = exchange.place(account, side, price, qty, **options)
        if result.outcome is PlaceOutcome.PLACED:
            self.acknowledged.append(result.order_id)


def fund(exchange: Exchange) -> None:
    for account in ACCOUNTS:
        exchange.fund(account, "USDC", "10000000")
        exchange.fund(account, "SOL", "100000")


def assert_exact_recovery(exchange: Exchange, market: MarketSpec, load: Load) -> None:
    commands = exchange.commands()
    book, expected = replay(market, commands)
    settled = exchange.events()
    assert len(settled) == len(expected)
    assert settled == expected  # nothing lost, nothing twice, same order

    snapshot_raw = cast(bytes, read_snapshot(exchange.redis, market.symbol))
    snapshot = decode_engine_snapshot(snapshot_raw)
    assert OrderBook.restore(snapshot.book).state_hash() == book.state_hash()

    decided = Counter(e.order_id for e in settled if isinstance(e, OrderAccepted | OrderRejected))
    assert {o: decided[o] for o in load.acknowledged if decided[o] != 1} == {}
    for order_id in load.acknowledged:
        assert exchange.ledger.order(order_id) is not None
    trade_ids = [e.trade_id for e in settled if isinstance(e, TradeExecuted)]
    assert trade_ids == list(range(1, len(trade_ids) + 1))


def crash_loop(kills: int, seed: int, redis_url: str, market: MarketSpec, exchange: Exchange,
               log_dir: Path) -> None:  # fmt: skip
    rng = random.Random(seed)
    fund(exchange)
    engine = EngineProcess(redis_url, market, log_dir, snapshot_interval_s="0.3")
    engine.start()
    load = Load(exchange, seed)
    load.start()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.02, 0.4))
            engine.kill()
            engine.start()
    finally:
        load.stop.set()
        load.join()
    assert load.error is None, load.error
    exchange.wait_settled(timeout=60)
    assert engine.stop() == 0
    assert len(load.acknowledged) > 100
    assert_exact_recovery(exchange, market, load)


def test_twenty_kills_lose_and_duplicate_nothing(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange,
    tmp_path: Path,
) -> None:  # fmt: skip
    crash_loop(20, 2024, redis_server.url, sol, exchange, tmp_path)


@pytest.mark.slow
def test_a_hundred_kills_lose_and_duplicate_nothing(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange,
    tmp_path: Path,
) -> None:  # fmt: skip
    crash_loop(100, 7, redis_server.url, sol, exchange, tmp_path)
