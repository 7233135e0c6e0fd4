"""Level-2 depth: snapshots with `last_update_id`, diffs with first and last update ids, and a
client that syncs one with the other."""

from __future__ import annotations

from cryptex.wire import DepthDiff, DepthSnapshot, PriceLevel, SetTradingState, TradingState
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, cancel, sell


def levels(*pairs: tuple[int, int]) -> list[PriceLevel]:
    return [PriceLevel(price, qty) for price, qty in pairs]


def test_depth_lists_levels_best_first_with_their_totals(seeded: OrderBook) -> None:
    assert seeded.depth(10) == DepthSnapshot(
        last_update_id=6,
        bids=levels((99, 4), (98, 8)),
        asks=levels((101, 8), (102, 10)),
    )


def test_depth_is_limited_to_n_levels_a_side(seeded: OrderBook) -> None:
    assert seeded.depth(1) == DepthSnapshot(6, levels((99, 4)), levels((101, 8)))


def test_a_trade_reports_the_level_it_changed(seeded: OrderBook) -> None:
    seeded.apply(buy(10, account=9, price=101, qty=6))
    assert seeded.take_depth_diff() == DepthDiff(7, 7, bids=[], asks=levels((101, 2)))


def test_a_sweep_reports_levels_gone_as_zero_and_the_new_level(seeded: OrderBook) -> None:
    seeded.apply(buy(10, account=9, price=103, qty=20))
    assert seeded.take_depth_diff() == DepthDiff(
        7, 9, bids=levels((103, 2)), asks=levels((101, 0), (102, 0))
    )


def test_diffs_are_contiguous_and_none_when_nothing_changed(seeded: OrderBook) -> None:
    assert seeded.take_depth_diff() is None
    seeded.apply(sell(10, account=9, price=100, qty=1))
    first = seeded.take_depth_diff()
    seeded.apply(cancel(10, account=9))
    seeded.apply(cancel(5, account=5))
    second = seeded.take_depth_diff()
    assert first == DepthDiff(7, 7, bids=[], asks=levels((100, 1)))
    assert second == DepthDiff(8, 9, bids=levels((98, 2)), asks=levels((100, 0)))


def test_commands_that_change_no_level_leave_the_update_id(seeded: OrderBook) -> None:
    update_id = seeded.update_id
    seeded.apply(buy(1, account=9, price=100, qty=1))  # duplicate id: rejected
    seeded.apply(cancel(77, account=1))  # unknown
    seeded.apply(buy(10, account=1, price=101, qty=1, post_only=True))  # would take
    seeded.apply(SetTradingState(TradingState.ACTIVE, TS))
    assert seeded.update_id == update_id
    assert seeded.take_depth_diff() is None


def test_a_client_syncs_a_snapshot_with_later_diffs(seeded: OrderBook) -> None:
    # The client's snapshot arrives after some diffs were already published.
    seeded.apply(buy(10, account=9, price=100, qty=3))
    early = seeded.take_depth_diff()
    snapshot = seeded.depth(100)
    seeded.apply(sell(11, account=8, price=98, qty=9))
    seeded.apply(cancel(3, account=3))
    late = seeded.take_depth_diff()
    assert early is not None
    assert late is not None

    bids = {level.price: level.quantity for level in snapshot.bids}
    asks = {level.price: level.quantity for level in snapshot.asks}
    synced_to = snapshot.last_update_id
    for diff in (early, late):
        if diff.last_update_id <= synced_to:
            continue  # already in the snapshot
        assert diff.first_update_id <= synced_to + 1 <= diff.last_update_id
        for book_side, changes in ((bids, diff.bids), (asks, diff.asks)):
            for level in changes:
                if level.quantity:
                    book_side[level.price] = level.quantity
                else:
                    book_side.pop(level.price, None)
        synced_to = diff.last_update_id

    expected = seeded.depth(100)
    assert synced_to == expected.last_update_id
    assert sorted(bids.items(), reverse=True) == [(lv.price, lv.quantity) for lv in expected.bids]
    assert sorted(asks.items()) == [(lv.price, lv.quantity) for lv in expected.asks]
