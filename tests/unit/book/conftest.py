"""A book for each test, checked for consistency after it; and a known seeded book."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptex_engine.book import OrderBook
from tests.unit.book.orders import buy, sell

# The seeded book (ticks, lots):
#   asks  102: #3 acct 3 x10
#         101: #1 acct 1 x5, #2 acct 2 x3
#   bids   99: #4 acct 4 x4
#          98: #5 acct 5 x6, #6 acct 1 x2
SEED = (
    sell(1, account=1, price=101, qty=5),
    sell(2, account=2, price=101, qty=3),
    sell(3, account=3, price=102, qty=10),
    buy(4, account=4, price=99, qty=4),
    buy(5, account=5, price=98, qty=6),
    buy(6, account=1, price=98, qty=2),
)


@pytest.fixture
def book() -> Iterator[OrderBook]:
    book = OrderBook()
    yield book
    book.check_invariants()


@pytest.fixture
def seeded(book: OrderBook) -> OrderBook:
    for command in SEED:
        book.apply(command)
    book.take_depth_diff()
    return book
