"""Post-only orders only ever make: one that would take is rejected, never partly filled."""

from __future__ import annotations

import pytest

from cryptex.wire import OrderAccepted, OrderRejected, RejectReason, Side, TimeInForce
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, resting, sell

B, S = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    "command",
    [
        buy(10, account=9, price=101, qty=1, post_only=True),
        buy(10, account=9, price=150, qty=1, post_only=True),
        sell(10, account=9, price=99, qty=1, post_only=True),
    ],
    ids=["buy-at-ask", "buy-through-ask", "sell-at-bid"],
)
def test_a_post_only_that_would_take_is_rejected(seeded: OrderBook, command: object) -> None:
    before, update_id = resting(seeded), seeded.update_id
    assert seeded.apply(command) == [  # type: ignore[arg-type]
        OrderRejected(10, 9, RejectReason.POST_ONLY_WOULD_TAKE, TS)
    ]
    assert resting(seeded) == before
    assert seeded.update_id == update_id


def test_a_post_only_inside_the_spread_rests(seeded: OrderBook) -> None:
    assert seeded.apply(sell(10, account=9, price=100, qty=2, post_only=True)) == [
        OrderAccepted(10, 9, S, 100, 2, TS)
    ]
    assert (10, 9, S, 100, 2) in resting(seeded)


def test_a_post_only_against_own_orders_is_still_rejected(seeded: OrderBook) -> None:
    assert seeded.apply(buy(10, account=1, price=101, qty=1, post_only=True)) == [
        OrderRejected(10, 1, RejectReason.POST_ONLY_WOULD_TAKE, TS)
    ]


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_post_only_is_only_for_gtc(book: OrderBook, tif: TimeInForce) -> None:
    command = buy(10, account=9, price=100, qty=1, post_only=True, time_in_force=tif)
    assert book.apply(command) == [OrderRejected(10, 9, RejectReason.INVALID_ORDER, TS)]
