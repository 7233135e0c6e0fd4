"""check_invariants() notices every kind of inconsistency it promises to."""

from __future__ import annotations

import pytest

from cryptex_engine.book import BookInvariantError, OrderBook


def test_a_consistent_book_passes(seeded: OrderBook) -> None:
    seeded.check_invariants()


def test_a_crossed_book_is_caught(seeded: OrderBook) -> None:
    level = seeded._bids.levels.pop(99)
    seeded._bids.prices.remove(99)
    level.queue[0].price = 101
    seeded._bids.levels[101] = level
    seeded._bids.prices.add(101)
    with pytest.raises(BookInvariantError, match="crossed"):
        seeded.check_invariants()
    seeded._bids.levels.pop(101)
    seeded._bids.prices.remove(101)
    seeded._orders.pop(4)


def test_a_level_total_that_disagrees_is_caught(seeded: OrderBook) -> None:
    seeded._asks.levels[101].total += 1
    with pytest.raises(BookInvariantError, match="totals disagree"):
        seeded.check_invariants()
    seeded._asks.levels[101].total -= 1


def test_an_order_missing_from_the_index_is_caught(seeded: OrderBook) -> None:
    order = seeded._orders.pop(2)
    with pytest.raises(BookInvariantError, match="missing from index"):
        seeded.check_invariants()
    seeded._orders[2] = order


def test_a_stale_index_entry_is_caught(seeded: OrderBook) -> None:
    seeded._orders[99] = seeded._orders[2]
    with pytest.raises(BookInvariantError, match="rest nowhere"):
        seeded.check_invariants()
    del seeded._orders[99]


def test_a_price_index_out_of_step_is_caught(seeded: OrderBook) -> None:
    seeded._asks.prices.add(150)
    with pytest.raises(BookInvariantError, match="price index"):
        seeded.check_invariants()
    seeded._asks.prices.remove(150)
