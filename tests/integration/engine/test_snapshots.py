"""Periodic snapshots are encoded by a forked copy of the engine while the engine goes on
matching: the snapshot written is the state as of the batch settled when the copy was made,
whatever the engine applied since; a snapshot taken in place (at stop, or asked for) replaces a
copy still at work; a copy that fails writes nothing and is tried again. What the copy encoded
is written a part per turn of the engine, and becomes the stored snapshot only once whole."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import redis

from cryptex import keys
from cryptex.ledger import StaleFenceError, read_snapshot, snapshot_command_id, snapshots
from cryptex.markets import MarketSpec
from cryptex.settings import EngineSettings
from cryptex.wire import Side, decode_engine_snapshot
from cryptex_engine.service import Engine
from tests.integration.engine.harness import Exchange, settle_all


@pytest.fixture
def engine(redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange) -> Engine:
    settings = EngineSettings(market=sol.symbol, instance="only", snapshot_interval_s=3600)
    engine = Engine(redis_client, sol, settings)
    engine.start()
    exchange.fund(1, "USDC", "100000")
    return engine


def collected(engine: Engine, timeout: float = 10) -> None:
    """Wait for the copy, then write every part of what it encoded."""
    snapshots, deadline = engine.snapshots, time.monotonic() + timeout
    while snapshots.encoding is not None:
        assert time.monotonic() < deadline, "the snapshot copy never finished"
        snapshots.collect()
        time.sleep(0.005)
    while snapshots.writing is not None:
        snapshots.write_part(snapshots.writing)


def four_bids_settled(engine: Engine, exchange: Exchange) -> None:
    for price in ("100", "101", "102", "103"):
        exchange.placed(1, Side.BUY, price, "1")
    settle_all(engine, exchange)


def first_part_staged(engine: Engine) -> None:
    """Begin a periodic snapshot and wait for its copy: collecting it stages the first part."""
    engine.snapshots.begin()
    while engine.snapshots.encoding is not None:
        engine.snapshots.collect()
        time.sleep(0.005)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Snapshots cut into parts of 64 bytes: a few orders make several parts."""
    monkeypatch.setattr(snapshots, "SNAPSHOT_PART_BYTES", 64)
    return 64


def test_a_periodic_snapshot_is_the_state_when_its_copy_was_made(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    for price in ("100", "101", "102"):
        exchange.placed(1, Side.BUY, price, "1")
    settle_all(engine, exchange)
    expected, applied = engine.snapshots.encoded_state(), engine.applied
    engine.snapshots.begin()
    exchange.placed(1, Side.BUY, "103", "1")  # applied while the copy encodes
    settle_all(engine, exchange)
    assert engine.applied != applied
    collected(engine)
    assert read_snapshot(redis_client, sol.symbol) == expected
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
        raw = read_snapshot(redis_client, sol.symbol)
        if raw is not None and decode_engine_snapshot(raw).book.orders:
            break
        assert time.monotonic() < deadline, "no periodic snapshot holds the order"


def test_a_snapshot_in_place_replaces_a_copy_still_at_work(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    exchange.placed(1, Side.BUY, "100", "1")
    settle_all(engine, exchange)
    engine.snapshots.begin()
    copy = engine.snapshots.encoding
    assert copy is not None
    exchange.placed(1, Side.BUY, "101", "1")
    settle_all(engine, exchange)
    engine.snapshots.take()  # as at stop: newer than what the copy holds
    assert engine.snapshots.encoding is None
    with pytest.raises(ChildProcessError):
        os.waitpid(copy.pid, 0)  # reaped: no zombie left behind
    assert read_snapshot(redis_client, sol.symbol) == engine.snapshots.encoded_state()


def test_a_failed_copy_writes_nothing_and_is_tried_again(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    exchange.placed(1, Side.BUY, "100", "1")
    settle_all(engine, exchange)
    before = read_snapshot(redis_client, sol.symbol)

    def broken() -> bytes:
        raise MemoryError("as if the copy ran out of memory")

    monkeypatch.setattr(engine.snapshots, "encoded_state", broken)  # the copy inherits it
    last_attempt = engine.snapshots.last
    engine.snapshots.begin()
    collected(engine)
    assert read_snapshot(redis_client, sol.symbol) == before
    assert engine.snapshots.last > last_attempt  # the next attempt waits for the interval
    monkeypatch.undo()
    engine.snapshots.begin()
    collected(engine)
    raw = read_snapshot(redis_client, sol.symbol)
    assert raw is not None
    assert decode_engine_snapshot(raw).last_command_id == engine.applied


def test_a_periodic_snapshot_is_written_a_part_per_turn_and_stored_once_whole(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    small_parts: int,
) -> None:  # fmt: skip
    four_bids_settled(engine, exchange)
    engine.snapshots.take()  # stored in place, whole
    first, applied = engine.snapshots.encoded_state(), engine.applied
    exchange.placed(1, Side.BUY, "104", "1")
    settle_all(engine, exchange)
    newer, newer_applied = engine.snapshots.encoded_state(), engine.applied
    first_part_staged(engine)
    parts = -(-len(newer) // small_parts)
    assert parts >= 4
    staging = keys.snapshot_staging(sol.symbol)
    for staged in range(1, parts):
        assert redis_client.llen(staging) == staged
        # Until the last part, the stored snapshot is the previous one, whole.
        assert read_snapshot(redis_client, sol.symbol) == first
        assert snapshot_command_id(redis_client, sol.symbol) == applied
        exchange.placed(1, Side.BUY, "10", "1")  # matching goes on between the parts
        engine.run_once()
    assert engine.snapshots.writing is None
    assert read_snapshot(redis_client, sol.symbol) == newer
    assert snapshot_command_id(redis_client, sol.symbol) == newer_applied
    stored = redis_client.lrange(keys.snapshot(sol.symbol), 0, -1)
    assert len(stored) == parts
    assert max(len(part) for part in stored) == small_parts
    assert not redis_client.exists(staging)


def test_a_part_staged_twice_makes_the_write_start_again(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    small_parts: int,
) -> None:  # fmt: skip
    four_bids_settled(engine, exchange)
    expected = engine.snapshots.encoded_state()
    first_part_staged(engine)
    # As if the reply to a part was lost and the part was sent again.
    redis_client.rpush(keys.snapshot_staging(sol.symbol), expected[:small_parts])
    collected(engine)
    assert read_snapshot(redis_client, sol.symbol) == expected


def test_an_engine_that_lost_the_market_stages_no_part(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    small_parts: int,
) -> None:  # fmt: skip
    four_bids_settled(engine, exchange)
    engine.snapshots.take()
    before = read_snapshot(redis_client, sol.symbol)
    exchange.placed(1, Side.BUY, "104", "1")
    settle_all(engine, exchange)
    first_part_staged(engine)
    staged = redis_client.llen(keys.snapshot_staging(sol.symbol))
    engine.ledger.take_fence(sol.symbol)  # a successor has started
    with pytest.raises(StaleFenceError):
        collected(engine)
    assert redis_client.llen(keys.snapshot_staging(sol.symbol)) == staged
    assert read_snapshot(redis_client, sol.symbol) == before


def test_an_engine_starts_from_a_snapshot_stored_whole_by_an_older_engine(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    for price in ("100", "101"):
        exchange.placed(1, Side.BUY, price, "1")
    settle_all(engine, exchange)
    engine.snapshots.take()
    state = read_snapshot(redis_client, sol.symbol)
    assert state is not None
    redis_client.delete(keys.snapshot(sol.symbol))
    redis_client.set(keys.snapshot(sol.symbol), state)  # one value, as before the parts
    successor = Engine(redis_client, sol, engine.settings)
    successor.start()
    assert successor.book.state_hash() == engine.book.state_hash()
    successor.snapshots.take()  # written in parts from now on
    assert redis_client.type(keys.snapshot(sol.symbol)) == b"list"
    assert read_snapshot(redis_client, sol.symbol) == state


def test_a_commit_whose_answer_was_lost_is_not_written_again(
    engine: Engine, exchange: Exchange, redis_client: redis.Redis, sol: MarketSpec,
    small_parts: int, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    four_bids_settled(engine, exchange)
    expected = engine.snapshots.encoded_state()
    commit, stage = engine.ledger.commit_snapshot, engine.ledger.stage_snapshot_part
    staged_after: list[int] = []

    def counted_stage(*args: Any, **kwargs: Any) -> bool:
        staged_after.append(1)
        return stage(*args, **kwargs)

    def answer_lost(*args: Any, **kwargs: Any) -> Any:
        commit(*args, **kwargs)  # done in Redis, but the answer never comes back
        monkeypatch.setattr(engine.ledger, "commit_snapshot", commit)
        monkeypatch.setattr(engine.ledger, "stage_snapshot_part", counted_stage)
        raise redis.ConnectionError("as if the connection dropped")

    monkeypatch.setattr(engine.ledger, "commit_snapshot", answer_lost)
    engine.snapshots.begin()
    with pytest.raises(redis.ConnectionError):
        collected(engine)
    assert read_snapshot(redis_client, sol.symbol) == expected
    collected(engine)  # the next turns: the commit is found done
    assert engine.snapshots.writing is None
    assert staged_after == []  # nothing written a second time
    assert read_snapshot(redis_client, sol.symbol) == expected
