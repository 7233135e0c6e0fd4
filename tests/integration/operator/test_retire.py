"""Retiring a market, as the operator's delete handler does it step by step: CancelOnly,
CancelAllOrders (every lock released by the engine's settlement), Halted, then the engine
stops and the market leaves the registry with its streams."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import redis

from cryptex import keys
from cryptex.ledger import Balance
from cryptex.wire import (
    AllOrdersCancelled,
    CancelAllOrders,
    OrderStatus,
    SetTradingState,
    TradingState,
    TradingStateChanged,
)
from cryptex_operator import control
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.operator.conftest import rest_orders

TS = 1_700_000_000_000


def acknowledged(client: redis.Redis, command: control.ControlCommand) -> control.Acknowledgement:
    sent = control.send(client, "SOL_USDC", command)
    ack = control.wait_ack(client, "SOL_USDC", sent, timeout_s=10)
    assert ack is not None, command
    return ack


def eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def read_like_dbproc(client: redis.Redis) -> None:
    stream = keys.events("SOL_USDC")
    while reply := cast(
        list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
        client.xreadgroup(keys.EVENTS_GROUP, "dbproc-0", {stream: ">"}, count=100),
    ):
        client.xack(stream, keys.EVENTS_GROUP, *[entry_id for entry_id, _ in reply[0][1]])


def test_retiring_cancels_every_resting_order_then_removes_the_market(
    engine: EngineProcess, exchange: Exchange
) -> None:
    client = exchange.redis
    resting = rest_orders(exchange)
    assert sum(b.locked for b in exchange.ledger.balances(1).values()) > 0

    assert acknowledged(client, SetTradingState(TradingState.CANCEL_ONLY, TS, "u.retire.0")) == (
        TradingStateChanged(TradingState.ACTIVE, TradingState.CANCEL_ONLY, TS, "u.retire.0")
    )
    cancelled = acknowledged(client, CancelAllOrders(TS, "u.retire.1"))
    assert cancelled == AllOrdersCancelled(4, TS, "u.retire.1")
    assert acknowledged(client, SetTradingState(TradingState.HALTED, TS, "u.retire.2")) == (
        TradingStateChanged(TradingState.CANCEL_ONLY, TradingState.HALTED, TS, "u.retire.2")
    )

    for order_id in resting:
        record = exchange.ledger.order(order_id)
        assert record is not None
        assert (record.status, record.locked) == (OrderStatus.CANCELED, 0), order_id
    for account in (1, 2, 3):
        assert all(b.locked == 0 for b in exchange.ledger.balances(account).values())
    # Account 1's buy at 91 made a trade of 0.5 SOL (45.5 USDC and a 10 bps maker fee) first.
    assert exchange.ledger.balances(1) == {
        "SOL": Balance(50_000_000, 0),
        "USDC": Balance(1_000_000_000 - 45_500_000 - 45_500, 0),
    }
    assert exchange.ledger.audit().ok

    assert not control.engine_stopped(client, "SOL_USDC")
    engine.stop()
    assert eventually(lambda: control.engine_stopped(client, "SOL_USDC")), "lease not lapsed"

    assert control.unread_events(client, "SOL_USDC") > 0  # dbproc has read nothing yet
    read_like_dbproc(client)
    assert control.unread_events(client, "SOL_USDC") == 0

    fence = client.get(keys.fence("SOL_USDC"))
    control.delist(client, "SOL_USDC")
    assert control.registered(client, "SOL_USDC") is None
    for key in (
        keys.commands("SOL_USDC"), keys.events("SOL_USDC"), keys.snapshot("SOL_USDC"),
        keys.snapshot_command("SOL_USDC"), keys.applied("SOL_USDC"), keys.heartbeat("SOL_USDC"),
        keys.depth("SOL_USDC"),
    ):  # fmt: skip
        assert not client.exists(key), key
    assert client.get(keys.fence("SOL_USDC")) == fence  # a fencing token never goes back
    assert control.unread_events(client, "SOL_USDC") == 0
