"""IOC limit orders trade what they can at once; the rest expires, nothing rests."""

from __future__ import annotations

from cryptex.wire import (
    ExpireReason,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    Side,
    TradeExecuted,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, ioc, resting, sell

B, S = Side.BUY, Side.SELL


def test_the_unfilled_part_expires(seeded: OrderBook) -> None:
    before = resting(seeded)
    events = seeded.apply(ioc(buy(10, account=9, price=101, qty=10)))
    assert events == [
        OrderAccepted(10, 9, B, 101, 10, TS),
        TradeExecuted(1, 101, 5, B, 1, 1, 10, 9, TS),
        OrderFilled(1, 1, TS),
        TradeExecuted(2, 101, 3, B, 2, 2, 10, 9, TS),
        OrderFilled(2, 2, TS),
        OrderExpired(10, 9, 2, ExpireReason.IOC, TS),
    ]
    assert resting(seeded) == [row for row in before if row[0] not in (1, 2)]


def test_an_ioc_that_cannot_trade_expires_whole(seeded: OrderBook) -> None:
    before = resting(seeded)
    assert seeded.apply(ioc(sell(10, account=9, price=100, qty=3))) == [
        OrderAccepted(10, 9, S, 100, 3, TS),
        OrderExpired(10, 9, 3, ExpireReason.IOC, TS),
    ]
    assert resting(seeded) == before


def test_an_ioc_filled_completely_is_filled(seeded: OrderBook) -> None:
    events = seeded.apply(ioc(sell(10, account=9, price=99, qty=4)))
    assert events[-1] == OrderFilled(10, 9, TS)
    assert 10 not in [row[0] for row in resting(seeded)]
