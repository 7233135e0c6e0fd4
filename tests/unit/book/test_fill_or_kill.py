"""FOK orders fill completely at once or not at all, without touching the book."""

from __future__ import annotations

from cryptex.wire import (
    ExpireReason,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    SelfTradePrevention,
    Side,
    TradeExecuted,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, fok, resting

B, S = Side.BUY, Side.SELL
EXPIRE_TAKER = SelfTradePrevention.EXPIRE_TAKER


def test_a_fillable_fok_fills_across_levels(seeded: OrderBook) -> None:
    events = seeded.apply(fok(buy(10, account=9, price=102, qty=18)))
    assert events[0] == OrderAccepted(10, 9, B, 102, 18, TS)
    assert [e.quantity for e in events if isinstance(e, TradeExecuted)] == [5, 3, 10]
    assert events[-1] == OrderFilled(10, 9, TS)
    assert [row[2] for row in resting(seeded)] == [B, B, B]


def test_an_unfillable_fok_expires_and_leaves_the_book_alone(seeded: OrderBook) -> None:
    before, update_id = resting(seeded), seeded.update_id
    assert seeded.apply(fok(buy(10, account=9, price=101, qty=9))) == [
        OrderAccepted(10, 9, B, 101, 9, TS),
        OrderExpired(10, 9, 9, ExpireReason.FOK, TS),
    ]
    assert resting(seeded) == before
    assert seeded.update_id == update_id


def test_own_orders_do_not_count_as_liquidity_under_expire_maker(seeded: OrderBook) -> None:
    before = resting(seeded)
    # Account 1 owns #1 (5 at 101): only #2's 3 lots are available at 101.
    assert seeded.apply(fok(buy(10, account=1, price=101, qty=4))) == [
        OrderAccepted(10, 1, B, 101, 4, TS),
        OrderExpired(10, 1, 4, ExpireReason.FOK, TS),
    ]
    assert resting(seeded) == before


def test_a_fillable_fok_expires_own_makers_on_its_way(seeded: OrderBook) -> None:
    events = seeded.apply(fok(buy(10, account=1, price=102, qty=13)))
    assert events == [
        OrderAccepted(10, 1, B, 102, 13, TS),
        OrderExpired(1, 1, 5, ExpireReason.SELF_TRADE, TS),
        TradeExecuted(1, 101, 3, B, 2, 2, 10, 1, TS),
        OrderFilled(2, 2, TS),
        TradeExecuted(2, 102, 10, B, 3, 3, 10, 1, TS),
        OrderFilled(3, 3, TS),
        OrderFilled(10, 1, TS),
    ]


def test_own_order_first_in_line_kills_a_fok_under_expire_taker(seeded: OrderBook) -> None:
    before = resting(seeded)
    taker = buy(10, account=1, price=102, qty=13, self_trade_prevention=EXPIRE_TAKER)
    events = seeded.apply(fok(taker))
    assert events == [
        OrderAccepted(10, 1, B, 102, 13, TS),
        OrderExpired(10, 1, 13, ExpireReason.FOK, TS),
    ]
    assert resting(seeded) == before
