"""Redis killed and restarted from its AOF (appendfsync always) in the middle of a run: the
engine and the traders carry on, and no acknowledged order is lost."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.engine.test_crash_recovery import Load, assert_exact_recovery, fund
from tests.servers import RedisServer


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendfsync="always")
    server.start()
    yield server
    server.stop()


def test_a_redis_restart_loses_no_acknowledged_order(
    own_redis: RedisServer, sol: MarketSpec, tmp_path: Path
) -> None:
    client = own_redis.client()
    exchange = Exchange(client, sol)
    fund(exchange)
    engine = EngineProcess(own_redis.url, sol, tmp_path, snapshot_interval_s="0.3")
    engine.start()
    load = Load(exchange, seed=99)
    load.start()
    try:
        for _ in range(3):
            time.sleep(0.7)
            acknowledged = len(load.acknowledged)
            own_redis.stop(signal.SIGKILL)
            time.sleep(0.3)
            own_redis.start()
            deadline = time.monotonic() + 10
            while len(load.acknowledged) <= acknowledged and time.monotonic() < deadline:
                time.sleep(0.05)  # traders get through again
            assert len(load.acknowledged) > acknowledged
    finally:
        load.stop.set()
        load.join()
    assert load.error is None, load.error
    engine.wait_healthy()
    exchange.wait_settled(timeout=60)
    assert engine.stop() == 0
    assert_exact_recovery(exchange, sol, load)
    report = exchange.ledger.audit()
    assert report.ok, report.problems
    client.close()


def test_the_engine_survives_redis_being_away(
    own_redis: RedisServer, sol: MarketSpec, tmp_path: Path
) -> None:
    engine = EngineProcess(own_redis.url, sol, tmp_path)
    engine.start()
    own_redis.stop(signal.SIGKILL)
    time.sleep(1.5)  # longer than its lease: the engine keeps trying, it does not exit
    assert engine.process is not None
    assert engine.process.poll() is None
    own_redis.start()
    engine.wait_healthy()
    exchange = Exchange(own_redis.client(), sol)
    exchange.fund(1, "USDC", "100")
    exchange.placed(1, Side.BUY, "10", "1")
    exchange.wait_settled()
    assert engine.stop() == 0
