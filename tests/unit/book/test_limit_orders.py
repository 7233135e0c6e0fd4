"""GTC limit orders: resting, price-time priority, sweeping levels at the makers' prices."""

from __future__ import annotations

from cryptex.wire import (
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    RejectReason,
    Side,
    TradeExecuted,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.conftest import SEED
from tests.unit.book.orders import TS, buy, resting, sell

B, S = Side.BUY, Side.SELL
SEEDED_ROWS = [
    (4, 4, B, 99, 4), (5, 5, B, 98, 6), (6, 1, B, 98, 2),
    (1, 1, S, 101, 5), (2, 2, S, 101, 3), (3, 3, S, 102, 10),
]  # fmt: skip


def test_orders_that_do_not_cross_rest_in_price_time_order(seeded: OrderBook) -> None:
    assert resting(seeded) == SEEDED_ROWS


def test_a_resting_order_is_only_accepted(book: OrderBook) -> None:
    assert book.apply(buy(1, account=7, price=100, qty=3)) == [OrderAccepted(1, 7, B, 100, 3, TS)]
    assert resting(book) == [(1, 7, B, 100, 3)]


def test_a_buy_takes_the_oldest_order_at_the_best_price_first(seeded: OrderBook) -> None:
    events = seeded.apply(buy(10, account=9, price=101, qty=6))
    assert events == [
        OrderAccepted(10, 9, B, 101, 6, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        TradeExecuted(2, 101, 1, B, 2, 2, 10, 9, TS),
        OrderFilled(10, 9, TS),
    ]
    assert resting(seeded) == [*SEEDED_ROWS[:3], (2, 2, S, 101, 2), (3, 3, S, 102, 10)]


def test_a_sweep_trades_at_each_makers_price_and_rests_the_remainder(seeded: OrderBook) -> None:
    events = seeded.apply(buy(10, account=9, price=103, qty=20))
    assert events == [
        OrderAccepted(10, 9, B, 103, 20, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        TradeExecuted(2, 101, 3, B, 2, 2, 10, 9, TS),
        OrderFilled(2, 2, TS),
        TradeExecuted(3, 102, 10, B, 3, 3, 10, 9, TS),
        OrderFilled(3, 3, TS),
    ]
    assert resting(seeded) == [(10, 9, B, 103, 2), *SEEDED_ROWS[:3]]


def test_a_sell_takes_the_highest_bid_first(seeded: OrderBook) -> None:
    events = seeded.apply(sell(10, account=9, price=98, qty=7))
    assert events == [
        OrderAccepted(10, 9, S, 98, 7, TS),
        TradeExecuted(1, 99, 4, S, 4, 4, 10, 9, TS),
        OrderFilled(4, 4, TS),
        TradeExecuted(2, 98, 3, S, 5, 5, 10, 9, TS),
        OrderFilled(10, 9, TS),
    ]
    assert resting(seeded) == [(5, 5, B, 98, 3), (6, 1, B, 98, 2), *SEEDED_ROWS[3:]]


def test_a_limit_away_from_the_touch_rests_without_trading(seeded: OrderBook) -> None:
    assert seeded.apply(buy(10, account=9, price=100, qty=1)) == [
        OrderAccepted(10, 9, B, 100, 1, TS)
    ]
    assert resting(seeded)[0] == (10, 9, B, 100, 1)


def test_trade_ids_grow_by_one_across_commands(book: OrderBook) -> None:
    for command in SEED:
        book.apply(command)
    first = book.apply(buy(10, account=9, price=101, qty=1))
    second = book.apply(sell(11, account=9, price=99, qty=1))
    trade_ids = [e.trade_id for e in first + second if isinstance(e, TradeExecuted)]
    assert trade_ids == [1, 2]


def test_a_duplicate_order_id_is_rejected(seeded: OrderBook) -> None:
    assert seeded.apply(buy(4, account=4, price=90, qty=1)) == [
        OrderRejected(4, 4, RejectReason.DUPLICATE_ORDER_ID, TS)
    ]
    assert resting(seeded) == SEEDED_ROWS


def test_a_zero_quantity_or_price_is_rejected(book: OrderBook) -> None:
    assert book.apply(buy(1, account=1, price=100, qty=0)) == [
        OrderRejected(1, 1, RejectReason.INVALID_ORDER, TS)
    ]
    assert book.apply(sell(2, account=1, price=0, qty=1)) == [
        OrderRejected(2, 1, RejectReason.INVALID_ORDER, TS)
    ]
    assert resting(book) == []
