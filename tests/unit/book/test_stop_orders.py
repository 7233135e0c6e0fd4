"""Stop-loss and take-profit orders: they wait off the book for the last trade price to reach
their stop price, then execute as limit or market orders, in the order the price crossed them."""

from __future__ import annotations

from typing import Any

import pytest

from cryptex.wire import (
    AmendOrder,
    CancelAllOrders,
    Event,
    ExpireReason,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderType,
    PlaceOrder,
    RejectReason,
    Side,
    TradeExecuted,
    decode_snapshot,
    encode,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, cancel, resting, sell, waiting

B, S = Side.BUY, Side.SELL


def stop(
    order_id: int, side: Side, kind: OrderType, *, stop_price: int, qty: int = 1,
    price: int = 0, account: int = 7, **options: Any,
) -> PlaceOrder:  # fmt: skip
    if kind.executes_as_market:
        options.setdefault("protection_price", 200 if side is B else 1)
    return PlaceOrder(
        order_id, account, side, price, qty, TS, order_type=kind, stop_price=stop_price,
        **options,
    )  # fmt: skip


@pytest.fixture
def traded(book: OrderBook) -> OrderBook:
    """Last price 100; asks 101 x5 and 103 x5, bids 99 x5 and 97 x5 (account 3)."""
    for command in (
        sell(901, account=1, price=100, qty=1),
        buy(902, account=2, price=100, qty=1),
        sell(903, account=3, price=101, qty=5),
        sell(904, account=3, price=103, qty=5),
        buy(905, account=3, price=99, qty=5),
        buy(906, account=3, price=97, qty=5),
    ):
        book.apply(command)
    return book


def trades(events: list[Event]) -> list[tuple[int, int, int]]:
    """(taker, maker, price) of each trade."""
    return [
        (e.taker_order_id, e.maker_order_id, e.price)
        for e in events
        if isinstance(e, TradeExecuted)
    ]


def test_a_stop_waits_off_the_book(traded: OrderBook) -> None:
    before = resting(traded)
    events = traded.apply(stop(1, B, OrderType.STOP_LOSS_LIMIT, stop_price=102, price=103))
    assert events == [OrderAccepted(1, 7, B, 103, 1, TS)]
    assert resting(traded) == before
    assert waiting(traded) == [(1, 1)]


def test_a_buy_stop_loss_triggers_when_the_price_rises_to_it(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101, qty=6))
    events = traded.apply(buy(2, account=5, price=101, qty=1))
    assert OrderTriggered(1, 7, B, 200, 6, 101, TS) in events
    # It buys as a market order: the rest of 101, its protection price far above.
    assert trades(events) == [(2, 903, 101), (1, 903, 101), (1, 904, 103)]
    assert events[-1] == OrderFilled(1, 7, TS)
    assert waiting(traded) == []


def test_a_sell_stop_loss_triggers_when_the_price_falls_to_it(traded: OrderBook) -> None:
    traded.apply(stop(1, S, OrderType.STOP_LOSS_LIMIT, stop_price=99, price=98, qty=7))
    events = traded.apply(sell(2, account=5, price=99, qty=1))
    # A limit order at 98: it takes what is left at 99, then rests at 98.
    assert trades(events) == [(2, 905, 99), (1, 905, 99)]
    assert (1, 7, S, 98, 3) in resting(traded)


def test_take_profits_trigger_the_other_way(traded: OrderBook) -> None:
    traded.apply(stop(1, S, OrderType.TAKE_PROFIT_LIMIT, stop_price=101, price=105))
    traded.apply(stop(2, B, OrderType.TAKE_PROFIT_LIMIT, stop_price=99, price=99))
    events = traded.apply(buy(3, account=5, price=101, qty=1))
    assert [e.order_id for e in events if isinstance(e, OrderTriggered)] == [1]
    events = traded.apply(sell(4, account=5, price=99, qty=5))
    assert [e.order_id for e in events if isinstance(e, OrderTriggered)] == [2]


@pytest.mark.parametrize(
    ("side", "kind", "stop_price"),
    [
        (B, OrderType.STOP_LOSS, 100),
        (B, OrderType.STOP_LOSS_LIMIT, 95),
        (S, OrderType.STOP_LOSS, 100),
        (S, OrderType.STOP_LOSS_LIMIT, 105),
        (B, OrderType.TAKE_PROFIT_LIMIT, 100),
        (S, OrderType.TAKE_PROFIT, 99),
    ],
)
def test_a_stop_the_last_price_has_reached_is_refused(
    traded: OrderBook, side: Side, kind: OrderType, stop_price: int
) -> None:
    events = traded.apply(stop(1, side, kind, stop_price=stop_price, price=100))
    assert events == [OrderRejected(1, 7, RejectReason.STOP_WOULD_TRIGGER, TS)]


def test_a_stop_needs_a_market_that_has_traded(book: OrderBook) -> None:
    events = book.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101))
    assert events == [OrderRejected(1, 7, RejectReason.NO_LAST_PRICE, TS)]


@pytest.mark.parametrize(
    "changes",
    [
        {"stop_price": 0},
        {"post_only": True},
        {"quote_budget": 100},
        {"price": 0},  # a stop-limit without its limit price
    ],
)
def test_malformed_stops_are_refused(traded: OrderBook, changes: dict[str, Any]) -> None:
    terms: dict[str, Any] = {"stop_price": 102, "price": 103, **changes}
    command = stop(1, B, OrderType.STOP_LOSS_LIMIT, **terms)
    assert traded.apply(command)[0] == OrderRejected(1, 7, RejectReason.INVALID_ORDER, TS)


def test_a_stop_price_on_a_limit_order_is_refused(traded: OrderBook) -> None:
    events = traded.apply(buy(1, account=7, price=90, qty=1, stop_price=95))
    assert events == [OrderRejected(1, 7, RejectReason.INVALID_ORDER, TS)]


def test_stops_crossed_by_one_sweep_run_in_crossing_order_then_time(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS_LIMIT, stop_price=103, price=90, account=11))
    traded.apply(stop(2, B, OrderType.STOP_LOSS_LIMIT, stop_price=102, price=90, account=12))
    traded.apply(stop(3, B, OrderType.STOP_LOSS_LIMIT, stop_price=103, price=90, account=13))
    traded.apply(stop(4, B, OrderType.STOP_LOSS_LIMIT, stop_price=101, price=90, account=14))
    events = traded.apply(buy(5, account=5, price=103, qty=6))
    assert [e.order_id for e in events if isinstance(e, OrderTriggered)] == [4, 2, 1, 3]
    # Bids at 90 cannot trade against asks at 103: each rests, in trigger order.
    assert [row[0] for row in resting(traded) if row[3] == 90] == [4, 2, 1, 3]


def test_a_triggered_order_can_trigger_more(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101, qty=5, account=11))
    traded.apply(stop(2, B, OrderType.STOP_LOSS_LIMIT, stop_price=103, price=103, account=12))
    events = traded.apply(buy(3, account=5, price=101, qty=1))
    # The first trade at 101 triggers 1, whose trade at 103 triggers 2.
    assert [e.order_id for e in events if isinstance(e, OrderTriggered)] == [1, 2]
    assert trades(events) == [(3, 903, 101), (1, 903, 101), (1, 904, 103), (2, 904, 103)]


def test_a_triggered_market_stop_expires_at_its_protection_price(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101, qty=20, protection_price=101))
    events = traded.apply(buy(2, account=5, price=101, qty=1))
    assert events[-1] == OrderExpired(1, 7, 16, ExpireReason.IOC, TS)


def test_a_waiting_stop_can_be_cancelled(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101, qty=3))
    assert traded.apply(cancel(1, account=7)) == [OrderCancelled(1, 7, 3, TS)]
    events = traded.apply(buy(2, account=5, price=101, qty=1))
    assert not [e for e in events if isinstance(e, OrderTriggered)]


def test_only_its_owner_cancels_a_stop(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=101, qty=3))
    assert traded.apply(cancel(1, account=8))[0].reason is RejectReason.NOT_ORDER_OWNER  # type: ignore[union-attr]
    assert waiting(traded) == [(1, 3)]


def test_a_waiting_stop_can_be_amended_down(traded: OrderBook) -> None:
    traded.apply(stop(1, S, OrderType.STOP_LOSS_LIMIT, stop_price=98, price=97, qty=5))
    assert traded.apply(AmendOrder(1, 7, 2, TS)) == [OrderAmended(1, 7, S, 97, 2, 3, TS)]
    assert waiting(traded) == [(1, 2)]


def test_cancel_all_cancels_waiting_stops_too(traded: OrderBook) -> None:
    traded.apply(stop(1, S, OrderType.STOP_LOSS, stop_price=98, qty=2))
    events = traded.apply(CancelAllOrders(TS))
    assert OrderCancelled(1, 7, 2, TS) in events
    assert waiting(traded) == []
    assert resting(traded) == []


def test_waiting_stops_survive_snapshot_and_restore(traded: OrderBook) -> None:
    traded.apply(stop(1, B, OrderType.STOP_LOSS_LIMIT, stop_price=102, price=90, account=11))
    traded.apply(stop(2, B, OrderType.STOP_LOSS_LIMIT, stop_price=102, price=90, account=12))
    restored = OrderBook.restore(decode_snapshot(encode(traded.snapshot())))
    assert restored.state_hash() == traded.state_hash()
    assert waiting(restored) == [(1, 1), (2, 1)]
    expected = traded.apply(buy(3, account=5, price=103, qty=6))
    assert restored.apply(buy(3, account=5, price=103, qty=6)) == expected
    restored.check_invariants()


def test_the_state_hash_covers_waiting_stops_and_the_last_price(traded: OrderBook) -> None:
    before = traded.state_hash()
    traded.apply(stop(1, B, OrderType.STOP_LOSS, stop_price=102))
    assert traded.state_hash() != before
