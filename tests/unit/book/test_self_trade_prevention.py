"""Self-trade prevention: an account never trades with itself; the taker's mode decides who
expires (EXPIRE_MAKER by default)."""

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
from tests.unit.book.orders import TS, buy, resting, sell

B, S = Side.BUY, Side.SELL
SELF = ExpireReason.SELF_TRADE


def test_expire_maker_removes_the_own_order_and_keeps_matching(seeded: OrderBook) -> None:
    events = seeded.apply(buy(10, account=1, price=101, qty=4))
    assert events == [
        OrderAccepted(10, 1, B, 101, 4, TS),
        OrderExpired(1, 1, 5, SELF, TS),
        TradeExecuted(1, 101, 3, B, 2, 2, 10, 1, TS),
        OrderFilled(2, 2, TS),
    ]
    assert resting(seeded) == [
        (10, 1, B, 101, 1), (4, 4, B, 99, 4), (5, 5, B, 98, 6), (6, 1, B, 98, 2),
        (3, 3, S, 102, 10),
    ]  # fmt: skip


def test_expire_taker_stops_the_taker_and_keeps_the_maker(seeded: OrderBook) -> None:
    before = resting(seeded)
    taker = buy(
        10, account=1, price=101, qty=4, self_trade_prevention=SelfTradePrevention.EXPIRE_TAKER
    )
    assert seeded.apply(taker) == [
        OrderAccepted(10, 1, B, 101, 4, TS),
        OrderExpired(10, 1, 4, SELF, TS),
    ]
    assert resting(seeded) == before


def test_expire_taker_keeps_the_trades_made_before_the_own_order(seeded: OrderBook) -> None:
    taker = buy(
        10, account=2, price=102, qty=10,
        self_trade_prevention=SelfTradePrevention.EXPIRE_TAKER,
    )  # fmt: skip
    assert seeded.apply(taker) == [
        OrderAccepted(10, 2, B, 102, 10, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 2, TS),
        OrderFilled(1, 1, TS),
        OrderExpired(10, 2, 5, SELF, TS),
    ]
    assert [row[0] for row in resting(seeded)] == [4, 5, 6, 2, 3]


def test_expire_both_removes_maker_and_taker(seeded: OrderBook) -> None:
    taker = buy(
        10, account=1, price=101, qty=4,
        self_trade_prevention=SelfTradePrevention.EXPIRE_BOTH,
    )  # fmt: skip
    assert seeded.apply(taker) == [
        OrderAccepted(10, 1, B, 101, 4, TS),
        OrderExpired(1, 1, 5, SELF, TS),
        OrderExpired(10, 1, 4, SELF, TS),
    ]
    assert [row[0] for row in resting(seeded)] == [4, 5, 6, 2, 3]


def test_a_sell_skips_its_own_bid_and_rests_the_rest(seeded: OrderBook) -> None:
    events = seeded.apply(sell(10, account=1, price=98, qty=12))
    assert events == [
        OrderAccepted(10, 1, S, 98, 12, TS),
        TradeExecuted(1, 99, 4, S, 4, 4, 10, 1, TS),
        OrderFilled(4, 4, TS),
        TradeExecuted(2, 98, 6, S, 5, 5, 10, 1, TS),
        OrderFilled(5, 5, TS),
        OrderExpired(6, 1, 2, SELF, TS),
    ]
    assert resting(seeded) == [
        (10, 1, S, 98, 2), (1, 1, S, 101, 5), (2, 2, S, 101, 3), (3, 3, S, 102, 10),
    ]  # fmt: skip
