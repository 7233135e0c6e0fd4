"""Control commands through the stream: trading-state changes acknowledged with events, and a
cancel-all that releases every lock (delisting)."""

from __future__ import annotations

import time
from typing import cast

from cryptex import keys
from cryptex.ledger import Balance, read_snapshot, snapshot_command_id
from cryptex.wire import (
    AllOrdersCancelled,
    CancelAllOrders,
    OrderRejected,
    OrderStatus,
    RejectReason,
    Side,
    TakeSnapshot,
    TradingState,
    TradingStateChanged,
    decode_engine_snapshot,
)
from tests.integration.engine.harness import EngineProcess, Exchange, entries_tail


def test_a_state_change_is_acknowledged_and_enforced(
    engine: EngineProcess, exchange: Exchange
) -> None:
    exchange.fund(1, "USDC", "1000")
    exchange.set_state(TradingState.CANCEL_ONLY)
    refused = exchange.placed(1, Side.BUY, "100", "1")
    exchange.wait_settled()
    events = exchange.events()
    assert [e for e in events if isinstance(e, TradingStateChanged)] == [
        TradingStateChanged(
            TradingState.ACTIVE, TradingState.CANCEL_ONLY, exchange.ts - 7, "req-CancelOnly"
        )
    ]
    assert [e for e in events if isinstance(e, OrderRejected)] == [
        OrderRejected(refused, 1, RejectReason.MARKET_NOT_OPEN, exchange.ts)
    ]
    assert exchange.ledger.balances(1)["USDC"] == Balance(1_000 * 10**6, 0)


def test_cancel_all_releases_every_lock(engine: EngineProcess, exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    orders = [
        exchange.placed(1, Side.BUY, "90", "1"),
        exchange.placed(1, Side.BUY, "91", "2"),
        exchange.placed(2, Side.SELL, "120", "5"),
    ]
    exchange.set_state(TradingState.CANCEL_ONLY)
    cancel_all_ts = exchange.next_ts()
    exchange.control(CancelAllOrders(cancel_all_ts, "delist"))
    exchange.set_state(TradingState.HALTED)
    exchange.wait_settled()
    assert AllOrdersCancelled(3, cancel_all_ts, "delist") in exchange.events()
    for order_id in orders:
        record = exchange.ledger.order(order_id)
        assert record is not None
        assert (record.status, record.locked) == (OrderStatus.CANCELED, 0)
    assert exchange.ledger.balances(1)["USDC"] == Balance(1_000 * 10**6, 0)
    assert exchange.ledger.balances(2)["SOL"] == Balance(10 * 10**8, 0)


def test_a_snapshot_request_is_answered_with_a_snapshot_at_it(
    engine: EngineProcess, exchange: Exchange
) -> None:
    exchange.fund(1, "USDC", "1000")
    exchange.placed(1, Side.BUY, "90", "1")
    exchange.control(TakeSnapshot(exchange.next_ts(), "upgrade"))
    asked_at = entries_tail(exchange.redis, keys.commands(exchange.symbol))
    exchange.wait_settled()
    # The engine settles the request's batch first, then writes the snapshot it asks for.
    deadline = time.monotonic() + 10
    while snapshot_command_id(exchange.redis, exchange.symbol) != asked_at:
        assert time.monotonic() < deadline, "no snapshot at the request"
        time.sleep(0.01)
    raw = cast(bytes, read_snapshot(exchange.redis, exchange.symbol))
    snapshot = decode_engine_snapshot(raw)
    assert snapshot.last_command_id == asked_at
    assert len(snapshot.book.orders) == 1
