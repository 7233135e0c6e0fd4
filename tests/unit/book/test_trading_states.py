"""Trading states: which commands a market accepts in each, and Closed being terminal."""

from __future__ import annotations

import pytest

from cryptex.wire import (
    CancelRejected,
    ControlRejected,
    OrderCancelled,
    OrderRejected,
    RejectReason,
    SetTradingState,
    TakeSnapshot,
    TradingState,
    TradingStateChanged,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import TS, buy, cancel, resting

ST = TradingState
NOT_OPEN = RejectReason.MARKET_NOT_OPEN


def set_state(book: OrderBook, state: TradingState, request_id: str = "r") -> list[object]:
    return list(book.apply(SetTradingState(state, TS, request_id)))


@pytest.mark.parametrize("state", [ST.PRE_OPEN, ST.CANCEL_ONLY, ST.HALTED, ST.CLOSED])
def test_orders_are_refused_unless_active(seeded: OrderBook, state: TradingState) -> None:
    set_state(seeded, state)
    before = resting(seeded)
    # 101 would trade: a market that is not open matches nothing.
    assert seeded.apply(buy(10, account=9, price=101, qty=1)) == [
        OrderRejected(10, 9, NOT_OPEN, TS)
    ]
    assert resting(seeded) == before


@pytest.mark.parametrize("state", [ST.PRE_OPEN, ST.ACTIVE, ST.CANCEL_ONLY])
def test_cancels_are_accepted_while_the_market_is_not_halted(
    seeded: OrderBook, state: TradingState
) -> None:
    set_state(seeded, state)
    assert seeded.apply(cancel(1, account=1)) == [OrderCancelled(1, 1, 5, TS)]


@pytest.mark.parametrize("state", [ST.HALTED, ST.CLOSED])
def test_a_halted_or_closed_market_refuses_cancels(seeded: OrderBook, state: TradingState) -> None:
    set_state(seeded, state)
    before = resting(seeded)
    assert seeded.apply(cancel(1, account=1)) == [CancelRejected(1, 1, NOT_OPEN, TS)]
    assert resting(seeded) == before


def test_a_state_change_is_acknowledged_with_the_request_id(book: OrderBook) -> None:
    assert set_state(book, ST.HALTED, "req-1") == [
        TradingStateChanged(ST.ACTIVE, ST.HALTED, TS, "req-1")
    ]
    assert set_state(book, ST.ACTIVE, "req-2") == [
        TradingStateChanged(ST.HALTED, ST.ACTIVE, TS, "req-2")
    ]
    assert book.trading_state is ST.ACTIVE


def test_setting_the_current_state_again_is_acknowledged(book: OrderBook) -> None:
    assert set_state(book, ST.ACTIVE) == [TradingStateChanged(ST.ACTIVE, ST.ACTIVE, TS, "r")]


@pytest.mark.parametrize("state", [ST.PRE_OPEN, ST.ACTIVE, ST.CANCEL_ONLY, ST.HALTED])
def test_closed_is_terminal(book: OrderBook, state: TradingState) -> None:
    set_state(book, ST.CLOSED)
    assert set_state(book, state, "late") == [
        ControlRejected(RejectReason.MARKET_CLOSED, TS, "late")
    ]
    assert book.trading_state is ST.CLOSED
    assert set_state(book, ST.CLOSED) == [TradingStateChanged(ST.CLOSED, ST.CLOSED, TS, "r")]


def test_a_book_can_start_in_any_state() -> None:
    book = OrderBook(ST.PRE_OPEN)
    assert book.apply(buy(1, account=1, price=100, qty=1)) == [OrderRejected(1, 1, NOT_OPEN, TS)]


def test_a_snapshot_request_leaves_the_book_as_it_is(seeded: OrderBook) -> None:
    before = seeded.state_hash()
    assert seeded.apply(TakeSnapshot(TS, "upgrade")) == []
    assert seeded.state_hash() == before
