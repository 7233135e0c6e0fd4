"""The book the server follows for Binance's book streams: snapshot, then diffs in update-id
order; a gap or a side thinned below what the snapshot held makes it stale (read again)."""

from __future__ import annotations

from cryptex.wire import DepthDiff, DepthSnapshot, PriceLevel
from cryptex_ws.books import REFRESH_BELOW, LocalBook


def _book(bids: int = 3, asks: int = 3, last: int = 10) -> LocalBook:
    book = LocalBook()
    book.load(DepthSnapshot(
        last,
        [PriceLevel(100 - i, 1 + i) for i in range(bids)],
        [PriceLevel(101 + i, 1 + i) for i in range(asks)],
    ))  # fmt: skip
    return book


def test_diffs_apply_in_order_and_old_ones_are_skipped() -> None:
    book = _book()
    assert not book.apply(DepthDiff(9, 10, [PriceLevel(100, 50)], []))  # in the snapshot
    assert book.apply(DepthDiff(11, 12, [PriceLevel(100, 0), PriceLevel(97, 4)], []))
    assert book.apply(DepthDiff(13, 13, [], [PriceLevel(100, 2)]))  # a new best ask
    assert book.best() == (PriceLevel(99, 2), PriceLevel(100, 2))
    assert book.top(2) == (
        [PriceLevel(99, 2), PriceLevel(98, 3)], [PriceLevel(100, 2), PriceLevel(101, 1)],
    )  # fmt: skip
    assert (book.last_update_id, book.stale) == (13, False)


def test_a_gap_makes_it_stale_until_loaded_again() -> None:
    book = _book()
    assert not book.apply(DepthDiff(12, 12, [PriceLevel(95, 1)], []))
    assert book.stale
    assert not book.apply(DepthDiff(13, 13, [PriceLevel(94, 1)], []))
    book.load(DepthSnapshot(13, [PriceLevel(95, 1)], []))
    assert book.apply(DepthDiff(14, 14, [], [PriceLevel(120, 1)]))
    assert book.best() == (PriceLevel(95, 1), PriceLevel(120, 1))


def test_a_side_thinned_out_below_the_deepest_partial_depth_is_read_again() -> None:
    """The snapshot holds the engine's best levels only: deeper ones may be missing."""
    book = _book(bids=REFRESH_BELOW, last=1)
    removed = [PriceLevel(100, 0)]
    assert book.apply(DepthDiff(2, 2, removed, []))
    assert book.stale
    small = _book(bids=5, last=1)  # the whole side was in the snapshot
    assert small.apply(DepthDiff(2, 2, removed, []))
    assert not small.stale


def test_an_empty_book() -> None:
    book = _book(bids=0, asks=0)
    assert book.best() == (None, None)
    assert book.top(5) == ([], [])
