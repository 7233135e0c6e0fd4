"""Cancels remove a resting order and report what it had left; others are refused as values."""

from __future__ import annotations

from cryptex.wire import CancelRejected, OrderCancelled, RejectReason, Side, TradeExecuted
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, cancel, resting, sell

B, S = Side.BUY, Side.SELL


def test_a_cancel_removes_the_order_and_reports_its_remainder(seeded: OrderBook) -> None:
    assert seeded.apply(cancel(5, account=5)) == [OrderCancelled(5, 5, 6, TS)]
    assert [row[0] for row in resting(seeded)] == [4, 6, 1, 2, 3]


def test_a_partly_filled_order_cancels_what_is_left(seeded: OrderBook) -> None:
    seeded.apply(buy(10, account=9, price=101, qty=2))
    assert seeded.apply(cancel(1, account=1)) == [OrderCancelled(1, 1, 3, TS)]


def test_the_last_order_of_a_level_takes_the_level_with_it(seeded: OrderBook) -> None:
    seeded.apply(cancel(4, account=4))
    assert seeded.best_bid() == 98


def test_an_unknown_order_is_refused(seeded: OrderBook) -> None:
    assert seeded.apply(cancel(99, account=1)) == [
        CancelRejected(99, 1, RejectReason.UNKNOWN_ORDER, TS)
    ]


def test_a_second_cancel_of_the_same_order_is_refused(seeded: OrderBook) -> None:
    seeded.apply(cancel(1, account=1))
    assert seeded.apply(cancel(1, account=1)) == [
        CancelRejected(1, 1, RejectReason.UNKNOWN_ORDER, TS)
    ]


def test_another_accounts_order_cannot_be_cancelled(seeded: OrderBook) -> None:
    before = resting(seeded)
    assert seeded.apply(cancel(1, account=2)) == [
        CancelRejected(1, 2, RejectReason.NOT_ORDER_OWNER, TS)
    ]
    assert resting(seeded) == before


def test_a_cancelled_order_is_never_matched(seeded: OrderBook) -> None:
    seeded.apply(cancel(1, account=1))
    events = seeded.apply(buy(10, account=9, price=101, qty=3))
    assert [e.maker_order_id for e in events if isinstance(e, TradeExecuted)] == [2]


def test_many_cancels_behind_a_resting_order_keep_the_queue_correct(book: OrderBook) -> None:
    book.apply(sell(1, account=1, price=100, qty=1))
    for order_id in range(2, 500):
        book.apply(sell(order_id, account=2, price=100, qty=1))
        book.apply(cancel(order_id, account=2))
        book.check_invariants()
    book.apply(sell(500, account=3, price=100, qty=1))
    events = book.apply(buy(501, account=9, price=100, qty=2))
    assert [e.maker_order_id for e in events if isinstance(e, TradeExecuted)] == [1, 500]
    assert resting(book) == []
