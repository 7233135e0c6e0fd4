"""Market orders with a quote budget (`quoteOrderQty`): they spend (buy) or receive (sell) at
most the budget, whole lots only, and what the budget cannot pay for expires."""

from __future__ import annotations

import msgspec

from cryptex.wire import (
    ExpireReason,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PlaceOrder,
    RejectReason,
    Side,
    TimeInForce,
    TradeExecuted,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, market, resting

B, S = Side.BUY, Side.SELL


def budgeted(order_id: int, *, side: Side, budget: int, cap: int, protection: int) -> PlaceOrder:
    command = market(order_id, account=9, side=side, qty=cap, protection=protection)
    return msgspec.structs.replace(command, quote_budget=budget)


def test_a_buy_spends_whole_lots_within_its_budget(seeded: OrderBook) -> None:
    # 5 x 101 + 3 x 101 = 808 tick-lots; 1000 - 808 = 192 buys one lot at 102 (92 left over).
    events = seeded.apply(budgeted(10, side=B, budget=1_000, cap=50, protection=110))
    assert events == [
        OrderAccepted(10, 9, B, 110, 50, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        TradeExecuted(2, 101, 3, B, 2, 2, 10, 9, TS),
        OrderFilled(2, 2, TS),
        TradeExecuted(3, 102, 1, B, 3, 3, 10, 9, TS),
        OrderExpired(10, 9, 41, ExpireReason.IOC, TS),
    ]
    assert resting(seeded)[-1] == (3, 3, S, 102, 9)


def test_a_budget_spent_exactly_stops_the_order(seeded: OrderBook) -> None:
    events = seeded.apply(budgeted(10, side=B, budget=505, cap=50, protection=110))
    assert events[1:] == [
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        OrderExpired(10, 9, 45, ExpireReason.IOC, TS),
    ]
    assert resting(seeded)[0:3] == [(4, 4, B, 99, 4), (5, 5, B, 98, 6), (6, 1, B, 98, 2)]


def test_a_partial_lot_of_budget_is_never_spent(seeded: OrderBook) -> None:
    events = seeded.apply(budgeted(10, side=B, budget=100, cap=50, protection=110))
    assert events == [
        OrderAccepted(10, 9, B, 110, 50, TS),
        OrderExpired(10, 9, 50, ExpireReason.IOC, TS),
    ]


def test_the_lot_cap_binds_before_the_budget(seeded: OrderBook) -> None:
    events = seeded.apply(budgeted(10, side=B, budget=10_000, cap=6, protection=110))
    assert [e.quantity for e in events if isinstance(e, TradeExecuted)] == [5, 1]
    assert events[-1] == OrderFilled(10, 9, TS)


def test_a_sell_receives_at_most_its_budget(seeded: OrderBook) -> None:
    # 4 x 99 = 396; 600 - 396 = 204 sells two lots at 98 (8 short of a third).
    events = seeded.apply(budgeted(10, side=S, budget=600, cap=6, protection=90))
    assert events[1:] == [
        TradeExecuted(1, 99, 4, S, 4, 4, 10, 9, TS),
        OrderFilled(4, 4, TS),
        TradeExecuted(2, 98, 2, S, 5, 5, 10, 9, TS),
        OrderFilled(10, 9, TS),
    ]


def test_a_budget_is_only_for_market_orders_and_not_fill_or_kill(book: OrderBook) -> None:
    limit = msgspec.structs.replace(buy(1, account=1, price=100, qty=1), quote_budget=100)
    fok = msgspec.structs.replace(
        budgeted(2, side=B, budget=100, cap=1, protection=110), time_in_force=TimeInForce.FOK
    )
    negative = budgeted(3, side=B, budget=-1, cap=1, protection=110)
    assert [book.apply(command) for command in (limit, fok, negative)] == [
        [OrderRejected(1, 1, RejectReason.INVALID_ORDER, TS)],
        [OrderRejected(2, 9, RejectReason.INVALID_ORDER, TS)],
        [OrderRejected(3, 9, RejectReason.INVALID_ORDER, TS)],
    ]
