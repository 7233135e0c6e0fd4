"""Event-stream entries gathered into a batch: trades in stream order, the orders placed, how
orders ended, each order's latest time; entries that never decode are set apart."""

from __future__ import annotations

from cryptex.wire import (
    AllOrdersCancelled,
    CancelRejected,
    ExpireReason,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    RejectReason,
    Side,
    TradeExecuted,
    encode,
)
from cryptex_dbproc.batch import Closing, collect


def entry(entry_id: str, *events: object) -> tuple[str, dict[bytes, bytes]]:
    return entry_id, {b"e": encode(list(events)), b"c": b"1-0"}


def test_a_batch_holds_trades_placements_closings_and_latest_times() -> None:
    maker = OrderAccepted(1, 7, Side.SELL, 15_000, 2_000, 100)
    taker = OrderAccepted(2, 8, Side.BUY, 15_100, 1_500, 200)
    trade = TradeExecuted(1, 15_000, 1_500, Side.BUY, 1, 7, 2, 8, 200)
    rejected = OrderRejected(3, 8, RejectReason.POST_ONLY_WOULD_TAKE, 300)
    expired = OrderExpired(4, 9, 500, ExpireReason.IOC, 400)
    batch = collect([
        entry("5-0", maker),
        entry("6-0", taker, trade, OrderFilled(2, 8, 200)),
        entry("7-0", rejected, CancelRejected(9, 8, RejectReason.UNKNOWN_ORDER, 310)),
        entry("8-0", OrderAccepted(4, 9, Side.BUY, 1, 500, 400), expired,
              OrderCancelled(1, 7, 500, 450), AllOrdersCancelled(1, 450)),
    ])  # fmt: skip

    assert batch.entry_ids == ["5-0", "6-0", "7-0", "8-0"]
    assert (batch.malformed, batch.events) == ([], 10)
    assert batch.trades == [trade]
    assert list(batch.placed) == [1, 2, 3, 4]
    assert batch.placed[3] == rejected
    assert batch.closed == {
        2: Closing(OrderStatus.FILLED),
        3: Closing(OrderStatus.REJECTED, "POST_ONLY_WOULD_TAKE"),
        4: Closing(OrderStatus.EXPIRED, "IOC"),
        1: Closing(OrderStatus.CANCELED),
    }
    assert batch.touched == {1: 450, 2: 200, 3: 300, 4: 400}


def test_entries_that_never_decode_are_set_apart_and_still_acknowledged() -> None:
    good = entry("2-0", OrderAccepted(1, 7, Side.SELL, 1, 1, 10))
    batch = collect([
        ("1-0", {b"e": b"\xc1 not msgpack"}),
        good,
        ("3-0", {}),  # trimmed while pending: the fields are gone
        ("4-0", {b"e": encode([{"unknown": 1}])}),
    ])  # fmt: skip
    assert batch.entry_ids == ["1-0", "2-0", "3-0", "4-0"]
    assert batch.malformed == ["1-0", "3-0", "4-0"]
    assert list(batch.placed) == [1]
