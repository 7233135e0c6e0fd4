"""Before an engine is replaced: TakeSnapshot, acknowledged by the snapshot reaching it."""

from __future__ import annotations

from typing import cast

import redis

from cryptex import keys
from cryptex.ledger import read_snapshot
from cryptex.redis_replies import stream_id
from cryptex.wire import (
    BookSnapshot,
    EngineSnapshot,
    TakeSnapshot,
    TradingState,
    decode_engine_snapshot,
    encode,
)
from cryptex_operator import control
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.operator.conftest import rest_orders

TS = 1_700_000_000_000


def snapshot_id(exchange: Exchange) -> str:
    raw = cast(bytes, read_snapshot(exchange.redis, "SOL_USDC"))
    return decode_engine_snapshot(raw).last_command_id


def test_the_snapshot_answers_only_once_it_reaches_the_request(
    engine: EngineProcess, exchange: Exchange
) -> None:
    resting = rest_orders(exchange)
    engine.kill()  # no snapshot on the way out: what is in Redis is older than what follows
    sent = control.send(exchange.redis, "SOL_USDC", TakeSnapshot(TS, "before-roll"))
    assert not control.wait_snapshot(exchange.redis, "SOL_USDC", sent, timeout_s=0.3)

    engine.start()
    assert control.wait_snapshot(exchange.redis, "SOL_USDC", sent, timeout_s=10)
    assert stream_id(snapshot_id(exchange)) >= stream_id(sent.command_id)
    raw = cast(bytes, read_snapshot(exchange.redis, "SOL_USDC"))
    orders = decode_engine_snapshot(raw).book.orders
    assert sorted(order.order_id for order in orders) == sorted(resting)
    # Asked again for the same request: already answered, at once.
    assert control.wait_snapshot(exchange.redis, "SOL_USDC", sent, timeout_s=0)


def test_stream_ids_compare_as_numbers() -> None:
    assert stream_id("1700000000000-10") > stream_id("1700000000000-9")
    assert stream_id("1700000000001-0") > stream_id("1700000000000-99")
    assert stream_id("") < stream_id("0-0")


def test_a_snapshot_stored_whole_by_an_older_engine_answers_too(
    redis_client: redis.Redis,
) -> None:
    # Before snapshots were stored in parts: one value, and no id kept beside it.
    snapshot = EngineSnapshot("1700000000000-5", BookSnapshot(TradingState.ACTIVE, 1, 0, []), [])
    redis_client.set(keys.snapshot("SOL_USDC"), encode(snapshot))
    redis_client.set(keys.applied("SOL_USDC"), "1700000000000-5")
    reached = control.Sent("r", command_id="1700000000000-5", events_from="0-0")
    beyond = control.Sent("r", command_id="1700000000000-6", events_from="0-0")
    assert control.wait_snapshot(redis_client, "SOL_USDC", reached, timeout_s=0)
    assert not control.wait_snapshot(redis_client, "SOL_USDC", beyond, timeout_s=0)
