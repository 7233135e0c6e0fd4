"""The cancel script queues a cancel only for the owner of an open order."""

from __future__ import annotations

import redis

from cryptex import keys
from cryptex.ledger import CancelResult, Ledger
from cryptex.markets import MarketSpec
from cryptex.wire import CancelOrder, PlaceOrder, RejectReason, Side
from tests.integration.ledger.conftest import TS
from tests.streams import queued_commands


def place(ledger: Ledger, sol: MarketSpec) -> None:
    ledger.deposit(7, "USDC", 10_000_000, "d1", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))


def last_command(client: redis.Redis) -> object:
    return queued_commands(client, "SOL_USDC")[-1]


def test_the_owner_queues_a_cancel(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    place(ledger, sol)
    assert ledger.request_cancel(11, 7, TS, "api-1") == CancelResult(True)
    assert last_command(redis_client) == CancelOrder(11, 7, TS, "api-1")


def test_another_account_is_refused(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    place(ledger, sol)
    assert ledger.request_cancel(11, 8, TS) == CancelResult(False, RejectReason.NOT_ORDER_OWNER)
    assert redis_client.xlen(keys.commands("SOL_USDC")) == 1


def test_an_unknown_order_is_refused(ledger: Ledger) -> None:
    assert ledger.request_cancel(99, 7, TS) == CancelResult(False, RejectReason.UNKNOWN_ORDER)


def test_an_order_that_is_done_is_refused(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    place(ledger, sol)
    redis_client.hset(keys.order(11), "status", "FILLED")
    assert ledger.request_cancel(11, 7, TS) == CancelResult(False, RejectReason.ORDER_NOT_OPEN)
    redis_client.hset(keys.order(11), "status", "NEW")  # back as it was, for the audit
