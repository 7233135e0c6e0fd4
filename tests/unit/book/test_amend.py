"""Amend keeping priority: lowering a resting order's quantity keeps its place in the queue."""

from __future__ import annotations

from cryptex.wire import (
    AmendOrder,
    AmendRejected,
    OrderAmended,
    RejectReason,
    SetTradingState,
    Side,
    TradeExecuted,
    TradingState,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, resting

B, S = Side.BUY, Side.SELL


def amend(order_id: int, *, account: int, qty: int) -> AmendOrder:
    return AmendOrder(order_id, account, qty, TS)


def test_a_lowered_order_keeps_its_place_in_the_queue(seeded: OrderBook) -> None:
    assert seeded.apply(amend(1, account=1, qty=2)) == [OrderAmended(1, 1, S, 101, 2, 3, TS)]
    events = seeded.apply(buy(10, account=9, price=101, qty=3))
    # Order 1 is still first at 101: it trades its 2 lots before order 2 does.
    assert [(e.maker_order_id, e.quantity) for e in events if isinstance(e, TradeExecuted)] == [
        (1, 2), (2, 1),
    ]  # fmt: skip
    assert resting(seeded)[3:] == [(2, 2, S, 101, 2), (3, 3, S, 102, 10)]


def test_the_depth_shows_the_lower_quantity(seeded: OrderBook) -> None:
    seeded.apply(amend(5, account=5, qty=1))
    assert seeded.depth(5).bids[1].quantity == 1 + 2
    diff = seeded.take_depth_diff()
    assert diff is not None
    assert [(lvl.price, lvl.quantity) for lvl in diff.bids] == [(98, 3)]


def test_the_new_quantity_counts_what_the_order_executed(seeded: OrderBook) -> None:
    seeded.apply(buy(10, account=9, price=102, qty=12))  # order 3 executes 4 of its 10 lots
    assert resting(seeded)[-1] == (3, 3, S, 102, 6)
    assert seeded.apply(amend(3, account=3, qty=5)) == [OrderAmended(3, 3, S, 102, 5, 5, TS)]
    assert resting(seeded)[-1] == (3, 3, S, 102, 1)
    # Not above what it executed (4): cancel it instead.
    assert seeded.apply(amend(3, account=3, qty=4)) == [
        AmendRejected(3, 3, RejectReason.INVALID_ORDER, TS)
    ]


def test_refused_amends_change_nothing(seeded: OrderBook) -> None:
    before = seeded.state_hash()
    refused = [
        (amend(1, account=1, qty=5), RejectReason.INVALID_ORDER),  # not lower
        (amend(1, account=1, qty=6), RejectReason.INVALID_ORDER),  # higher
        (amend(1, account=1, qty=0), RejectReason.INVALID_ORDER),
        (amend(1, account=2, qty=1), RejectReason.NOT_ORDER_OWNER),
        (amend(77, account=1, qty=1), RejectReason.UNKNOWN_ORDER),
    ]
    for command, reason in refused:
        assert seeded.apply(command) == [
            AmendRejected(command.order_id, command.account, reason, TS)
        ]
    assert seeded.state_hash() == before


def test_an_amend_is_a_partial_cancel_allowed_where_cancels_are(seeded: OrderBook) -> None:
    seeded.apply(SetTradingState(TradingState.CANCEL_ONLY, TS))
    assert seeded.apply(amend(4, account=4, qty=1)) == [OrderAmended(4, 4, B, 99, 1, 3, TS)]
    seeded.apply(SetTradingState(TradingState.HALTED, TS))
    assert seeded.apply(amend(4, account=4, qty=1)) == [
        AmendRejected(4, 4, RejectReason.MARKET_NOT_OPEN, TS)
    ]


def test_an_amended_order_survives_snapshot_and_restore(seeded: OrderBook) -> None:
    seeded.apply(amend(3, account=3, qty=7))
    restored = OrderBook.restore(seeded.snapshot())
    assert restored.state_hash() == seeded.state_hash()
    # Its whole quantity came back too: 7 is no longer lower.
    assert restored.apply(amend(3, account=3, qty=7))[0] == AmendRejected(
        3, 3, RejectReason.INVALID_ORDER, TS
    )
