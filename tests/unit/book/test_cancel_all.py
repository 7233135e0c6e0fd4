"""CancelAllOrders (delisting) empties the book in any state and reports every order."""

from __future__ import annotations

import pytest

from cryptex.wire import (
    AllOrdersCancelled,
    CancelAllOrders,
    OrderCancelled,
    SetTradingState,
    TradingState,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, resting


@pytest.mark.parametrize("state", list(TradingState))
def test_every_resting_order_is_cancelled_by_order_id(
    seeded: OrderBook, state: TradingState
) -> None:
    seeded.apply(SetTradingState(state, TS))
    assert seeded.apply(CancelAllOrders(TS, "delist")) == [
        OrderCancelled(1, 1, 5, TS),
        OrderCancelled(2, 2, 3, TS),
        OrderCancelled(3, 3, 10, TS),
        OrderCancelled(4, 4, 4, TS),
        OrderCancelled(5, 5, 6, TS),
        OrderCancelled(6, 1, 2, TS),
        AllOrdersCancelled(6, TS, "delist"),
    ]
    assert resting(seeded) == []
    assert seeded.best_bid() is None
    assert seeded.best_ask() is None


def test_an_empty_book_acknowledges_with_zero(book: OrderBook) -> None:
    assert book.apply(CancelAllOrders(TS)) == [AllOrdersCancelled(0, TS)]
