"""Periodic snapshots are encoded by a forked copy of the engine while the engine goes on
matching: the snapshot written is the state as of the batch settled when the copy was made,
whatever the engine applied since; a snapshot taken in place (at stop, or asked for) replaces a
copy still at work; a copy that fails writes nothing and is tried again."""

from __future__ import annotations

import os
import time

import pytest
import redis

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.settings import EngineSettings
from cryptex.wire import Side, decode_engine_snapshot
from cryptex_engine.service import Engine
from tests.integration.engine.harness import Exchange, entries_tail


@pytest.fixture
def engine(redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange) -> Engine:
    settings = EngineSettings(market=sol.symbol, instance="only", snapshot_interval_s=3600)
    engine = Engine(redis_client, sol, settings)
    engine.start()
    exchange.fund(1, "USDC", "100000")
    return engine


def settle_all(engine: Engine, exchange: Exchange) -> None:
    """Run the engine until it has settled every command queued so far."""
    last = entries_tail(exchange.redis, keys.commands(exchange.symbol))
    deadline = time.monotonic() + 10
    while engine.applied != last:
        assert time.monotonic() < deadline, f"not settled up to {last}"
        engine.run_once()


def stored(client: redis.Redis, symbol: str) -> bytes | None:
    raw = client.get(keys.snapshot(symbol))
    return raw if raw is None else bytes(raw)  # type: ignore[arg-type]


def collected(engine: Engine, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while engine._encoding is not None:
        assert time.monotonic() < deadline, "the snapshot copy never finished"
        engine._collect_snapshot()
        time.sleep(0.005)


def test_a_periodic_snapshot_is_the_state_when_its_copy_was_made(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    for price in ("100", "101", "102"):
        exchange.placed(1, Side.BUY, price, "1")
    settle_all(engine, exchange)
    expected, applied = engine._encoded_state(), engine.applied
    engine._begin_snapshot()
    exchange.placed(1, Side.BUY, "103", "1")  # applied while the copy encodes
    settle_all(engine, exchange)
    assert engine.applied != applied
    collected(engine)
    assert stored(redis_client, sol.symbol) == expected
    snapshot = decode_engine_snapshot(expected)
    assert (snapshot.last_command_id, len(snapshot.book.orders)) == (applied, 3)


def test_the_run_loop_starts_and_collects_copies_on_its_own(
    redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange
) -> None:
    settings = EngineSettings(market=sol.symbol, instance="only", snapshot_interval_s=0.05)
    engine = Engine(redis_client, sol, settings)
    engine.start()
    exchange.fund(1, "USDC", "1000")
    exchange.placed(1, Side.BUY, "100", "1")
    deadline = time.monotonic() + 10
    while True:
        engine.run_once()
        raw = stored(redis_client, sol.symbol)
        if raw is not None and decode_engine_snapshot(raw).book.orders:
            break
        assert time.monotonic() < deadline, "no periodic snapshot holds the order"


def test_a_snapshot_in_place_replaces_a_copy_still_at_work(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    exchange.placed(1, Side.BUY, "100", "1")
    settle_all(engine, exchange)
    engine._begin_snapshot()
    copy = engine._encoding
    assert copy is not None
    exchange.placed(1, Side.BUY, "101", "1")
    settle_all(engine, exchange)
    engine.snapshot()  # as at stop: newer than what the copy holds
    assert engine._encoding is None
    with pytest.raises(ChildProcessError):
        os.waitpid(copy.pid, 0)  # reaped: no zombie left behind
    assert stored(redis_client, sol.symbol) == engine._encoded_state()


def test_a_failed_copy_writes_nothing_and_is_tried_again(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    exchange.placed(1, Side.BUY, "100", "1")
    settle_all(engine, exchange)
    before = stored(redis_client, sol.symbol)

    def broken() -> bytes:
        raise MemoryError("as if the copy ran out of memory")

    monkeypatch.setattr(engine, "_encoded_state", broken)  # the copy inherits it
    last_attempt = engine._last_snapshot
    engine._begin_snapshot()
    collected(engine)
    assert stored(redis_client, sol.symbol) == before
    assert engine._last_snapshot > last_attempt  # the next attempt waits for the interval
    monkeypatch.undo()
    engine._begin_snapshot()
    collected(engine)
    raw = stored(redis_client, sol.symbol)
    assert raw is not None
    assert decode_engine_snapshot(raw).last_command_id == engine.applied
