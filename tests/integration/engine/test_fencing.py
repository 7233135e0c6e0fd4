"""Single writer: a second engine takes a newer fencing token, and the first one can then
settle nothing (nor snapshot)."""

from __future__ import annotations

import threading

import pytest
import redis

from cryptex import keys
from cryptex.ledger import StaleFenceError
from cryptex.markets import MarketSpec
from cryptex.settings import EngineSettings
from cryptex.wire import PlaceOrder, Side, decode_command
from cryptex_engine.service import Engine
from tests.integration.engine.harness import Exchange


def engine_for(client: redis.Redis, market: MarketSpec, instance: str) -> Engine:
    settings = EngineSettings(market=market.symbol, instance=instance, lease_ttl_ms=1_000)
    engine = Engine(client, market, settings)
    engine.start()
    return engine


def first_with_a_bid(client: redis.Redis, market: MarketSpec, exchange: Exchange) -> Engine:
    """The first engine of the market, with one bid queued for it (not read yet)."""
    engine = engine_for(client, market, "first")
    exchange.fund(1, "USDC", "1000")
    exchange.placed(1, Side.BUY, "100", "1")
    return engine


def take_over(client: redis.Redis, market: MarketSpec) -> Engine:
    """A second engine, started as if the first one's lease had lapsed."""
    client.delete(keys.lease(market.symbol))
    return engine_for(client, market, "second")


def test_a_stale_engine_settles_nothing(
    redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange
) -> None:
    first = first_with_a_bid(redis_client, sol, exchange)
    assert first.run_once() + first.run_once() == 1
    applied_before = redis_client.get(keys.applied(sol.symbol))

    second = take_over(redis_client, sol)
    assert second.token == first.token + 1

    exchange.placed(1, Side.BUY, "101", "1")
    entries = first._read() or first._read()  # the first read drains the (empty) pending list
    with pytest.raises(StaleFenceError):
        first.process(entries)
    assert redis_client.get(keys.applied(sol.symbol)) == applied_before
    with pytest.raises(StaleFenceError):
        first.snapshots.take()

    while not second.run_once():
        pass
    assert second.book.resting_orders == 2
    exchange.wait_settled()


def test_an_engine_waits_for_a_lease_held_by_another(
    redis_client: redis.Redis, sol: MarketSpec
) -> None:
    first = engine_for(redis_client, sol, "first")
    assert redis_client.get(keys.lease(sol.symbol)) == b"first"
    # The lease lapses after its 1 s ttl; the second engine takes over then, not before.
    second = engine_for(redis_client, sol, "second")
    assert redis_client.get(keys.lease(sol.symbol)) == b"second"
    assert second.token == first.token + 1


def test_a_stopped_engine_hands_its_lease_over_at_once(
    redis_client: redis.Redis, sol: MarketSpec
) -> None:
    settings = EngineSettings(market=sol.symbol, instance="first", lease_ttl_ms=60_000)
    first = Engine(redis_client, sol, settings)
    first.start()
    stop = threading.Event()
    stop.set()
    first.run(stop)  # returns at once: the stop snapshot, then the lease is given up
    assert redis_client.get(keys.lease(sol.symbol)) is None
    assert not first.ledger.release_lease(sol.symbol, "first")  # only a holder releases

    second = engine_for(redis_client, sol, "second")  # no wait for a 60 s lease to lapse
    assert not second.ledger.release_lease(sol.symbol, "first")
    assert redis_client.get(keys.lease(sol.symbol)) == b"second"


def test_a_settle_delivers_the_next_commands_to_a_busy_engine(
    redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange
) -> None:
    engine = engine_for(redis_client, sol, "only")
    exchange.fund(1, "USDC", "1000")
    first = exchange.placed(1, Side.BUY, "100", "1")
    entries = engine._read() or engine._read()  # the first read drains the (empty) pending list
    second = exchange.placed(1, Side.BUY, "101", "1")  # arrives while the first is worked on
    assert engine.process(entries) == 1
    [(_, fields)] = engine._next_entries  # delivered by the first's settle, no read of its own
    command = decode_command(fields[keys.COMMAND_FIELD.encode()])
    assert isinstance(command, PlaceOrder)
    assert command.order_id == second != first
    assert engine.run_once() == 1
    assert engine.book.resting_orders == 2
    assert redis_client.xpending(keys.commands(sol.symbol), keys.COMMANDS_GROUP)["pending"] == 0


def test_a_refused_settle_takes_no_commands_from_the_engine_that_replaced_it(
    redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange
) -> None:
    first = first_with_a_bid(redis_client, sol, exchange)
    entries = first._read() or first._read()

    second = take_over(redis_client, sol)
    exchange.placed(1, Side.BUY, "101", "1")
    with pytest.raises(StaleFenceError):
        first.process(entries)
    assert first._next_entries == []
    # Only what the first read while it held the market is delivered; the new order is not.
    assert redis_client.xpending(keys.commands(sol.symbol), keys.COMMANDS_GROUP)["pending"] == 1

    while second.book.resting_orders < 2:
        second.run_once()
    exchange.wait_settled()


def test_commands_a_stale_engine_read_are_applied_in_their_order_by_its_successor(
    redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange
) -> None:
    """The one read a stale engine can still make (the blocking one, which no script can
    fence) takes commands from its successor; the successor's settle refuses to go past them,
    and it rebuilds its state and applies them first: no order is left out of the book."""
    first = engine_for(redis_client, sol, "first")
    assert first._read() == []  # the (empty) pending list: from now on it reads new commands
    second = take_over(redis_client, sol)
    assert second._read() == []

    exchange.fund(1, "USDC", "1000")
    taken = exchange.placed(1, Side.BUY, "100", "1")
    stolen = first._read()  # the stale engine's last read
    assert len(stolen) == 1
    after = exchange.placed(1, Side.BUY, "100", "2")
    assert second.run_once() == 0  # refused: `taken` lies between its applied id and `after`
    assert second.book.resting_orders == 0  # rebuilt as settled, `after` not applied
    while second.book.resting_orders < 2:
        second.run_once()
    exchange.wait_settled()
    resting = second.book.snapshot().orders
    assert [order.order_id for order in resting] == [taken, after]  # time priority kept
    with pytest.raises(StaleFenceError):
        first.process(stolen)
