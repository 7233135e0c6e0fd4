"""Market orders match like IOC, bounded by their protection price."""

from __future__ import annotations

from cryptex.wire import (
    ExpireReason,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    RejectReason,
    Side,
    TimeInForce,
    TradeExecuted,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, market, resting

B, S = Side.BUY, Side.SELL


def test_a_market_buy_sweeps_up_to_its_protection_price(seeded: OrderBook) -> None:
    events = seeded.apply(market(10, account=9, side=B, qty=10, protection=102))
    assert events == [
        OrderAccepted(10, 9, B, 102, 10, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        TradeExecuted(2, 101, 3, B, 2, 2, 10, 9, TS),
        OrderFilled(2, 2, TS),
        TradeExecuted(3, 102, 2, B, 3, 3, 10, 9, TS),
        OrderFilled(10, 9, TS),
    ]
    assert resting(seeded)[-1] == (3, 3, S, 102, 8)


def test_what_lies_beyond_the_protection_price_expires(seeded: OrderBook) -> None:
    events = seeded.apply(market(10, account=9, side=B, qty=10, protection=101))
    assert events[-1] == OrderExpired(10, 9, 2, ExpireReason.IOC, TS)
    assert [row[0] for row in resting(seeded)] == [4, 5, 6, 3]


def test_a_market_sell_walks_the_bids_down(seeded: OrderBook) -> None:
    events = seeded.apply(market(10, account=9, side=S, qty=12, protection=98))
    assert [(e.price, e.quantity, e.maker_order_id) for e in events[1:] if
            isinstance(e, TradeExecuted)] == [(99, 4, 4), (98, 6, 5), (98, 2, 6)]  # fmt: skip
    assert events[-1] == OrderFilled(10, 9, TS)
    assert [row[0] for row in resting(seeded)] == [1, 2, 3]


def test_a_market_order_on_an_empty_side_expires_whole(book: OrderBook) -> None:
    assert book.apply(market(1, account=9, side=B, qty=3, protection=100)) == [
        OrderAccepted(1, 9, B, 100, 3, TS),
        OrderExpired(1, 9, 3, ExpireReason.IOC, TS),
    ]
    assert resting(book) == []


def test_a_market_order_needs_a_protection_price(seeded: OrderBook) -> None:
    assert seeded.apply(market(10, account=9, side=B, qty=3, protection=0)) == [
        OrderRejected(10, 9, RejectReason.INVALID_ORDER, TS)
    ]


def test_a_market_fok_fills_completely_or_expires(seeded: OrderBook) -> None:
    import msgspec

    command = msgspec.structs.replace(
        market(10, account=9, side=B, qty=9, protection=101), time_in_force=TimeInForce.FOK
    )
    assert seeded.apply(command) == [
        OrderAccepted(10, 9, B, 101, 9, TS),
        OrderExpired(10, 9, 9, ExpireReason.FOK, TS),
    ]
