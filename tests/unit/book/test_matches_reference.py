"""Property: any command sequence gives the fast book and the naive reference book identical
events, resting orders, depth and update ids; and every lot of every order is accounted for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptex.wire import (
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    Command,
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderType,
    PlaceOrder,
    SelfTradePrevention,
    SetTradingState,
    Side,
    TimeInForce,
    TradeExecuted,
    TradingState,
    decode_snapshot,
    encode,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import resting, waiting
from tests.unit.book.reference import ReferenceBook

TS = 0  # replaced by each command's position in the sequence


@dataclass(frozen=True)
class CancelPick:
    """A cancel of the `pick`-th order placed so far (or of an unknown id when none fits)."""

    pick: int
    account: int


def _place(
    side: Side,
    price: int,
    qty: int,
    account: int,
    kind: OrderType,
    tif: TimeInForce,
    stp: SelfTradePrevention,
    post_only: bool,
    quote_budget: int,
    stop_price: int,
) -> PlaceOrder:
    is_market = kind.executes_as_market
    return PlaceOrder(
        0,
        account,
        side,
        0 if is_market else price,
        qty,
        TS,
        order_type=kind,
        time_in_force=tif,
        self_trade_prevention=stp,
        # Post-only and budgets are refused on stops by both books: rarely asked there.
        post_only=post_only and (not kind.is_stop or qty == 1),
        protection_price=price if is_market else 0,
        quote_budget=quote_budget if not kind.is_stop or qty == 2 else 0,
        # A stop price on another type is refused by both books: asked for now and then.
        stop_price=stop_price if kind.is_stop or qty == 3 else 0,
    )


prices = st.integers(96, 104)
place = st.builds(
    _place,
    st.sampled_from(Side),
    prices,
    st.integers(0, 12),
    st.integers(1, 4),
    # Limit and market orders make the trades; stops wait for them (stop-market and stop-limit
    # variants of both kinds, on both sides).
    st.sampled_from(
        [OrderType.LIMIT] * 5
        + [OrderType.MARKET] * 2
        + [
            OrderType.STOP_LOSS,
            OrderType.STOP_LOSS_LIMIT,
            OrderType.TAKE_PROFIT,
            OrderType.TAKE_PROFIT_LIMIT,
        ]
    ),
    st.sampled_from(TimeInForce),
    st.sampled_from(SelfTradePrevention),
    st.booleans(),
    # Mostly none; a budget on a limit order or a fill-or-kill one is refused by both books.
    st.one_of(st.just(0), st.just(0), st.just(0), st.integers(-1, 1_200)),
    st.integers(94, 106),
)
cancel = st.builds(CancelPick, st.integers(0, 200), st.integers(1, 4))


@dataclass(frozen=True)
class AmendPick:
    """An amend of the `pick`-th order placed so far to `quantity` lots."""

    pick: int
    account: int
    quantity: int


amend = st.builds(AmendPick, st.integers(0, 200), st.integers(1, 4), st.integers(0, 12))
# Trading-state changes are rare and mostly back to Active; Closed (terminal) rarer still, or
# it would end most runs early.
state_change = st.builds(
    SetTradingState,
    st.sampled_from(
        [TradingState.ACTIVE] * 3
        + [TradingState.PRE_OPEN, TradingState.CANCEL_ONLY, TradingState.HALTED]
    ),
    st.just(TS),
)
Operation = PlaceOrder | CancelPick | AmendPick | SetTradingState | CancelAllOrders
operation: st.SearchStrategy[Operation] = st.integers(0, 199).flatmap(
    lambda draw: (
        place
        if draw < 130
        else amend
        if draw < 150
        else cancel
        if draw < 184
        else state_change
        if draw < 196
        else st.just(CancelAllOrders(TS))
        if draw < 199
        else st.just(SetTradingState(TradingState.CLOSED, TS))
    )
)
operations = st.lists(operation, min_size=20, max_size=200)  # fmt: skip
# Continuous trading only, so that prices move and stops trigger, in cascades too.
trading_operation: st.SearchStrategy[Operation] = st.integers(0, 99).flatmap(
    lambda draw: place if draw < 85 else amend if draw < 90 else cancel
)
trading = st.lists(trading_operation, min_size=20, max_size=200)


def to_commands(ops: list[Operation]) -> list[Command]:
    """Number the commands: order ids grow from 1 (quantity 7 repeats the last id, to meet
    duplicates); a cancel mostly names an order placed earlier, by its owner."""
    commands: list[Command] = []
    placed: list[tuple[int, int]] = []
    for ts, op in enumerate(ops):
        if isinstance(op, PlaceOrder):
            order_id = placed[-1][0] if op.quantity == 7 and placed else len(placed) + 1
            placed.append((order_id, op.account))
            commands.append(msgspec.structs.replace(op, order_id=order_id, ts=ts))
        elif isinstance(op, CancelPick):
            if placed and op.pick < 180:
                order_id, owner = placed[op.pick % len(placed)]
                account = owner if op.pick % 9 else op.account
                commands.append(CancelOrder(order_id, account, ts))
            else:
                commands.append(CancelOrder(1_000 + op.pick, op.account, ts))
        elif isinstance(op, AmendPick):
            if placed:
                order_id, owner = placed[op.pick % len(placed)]
                account = owner if op.pick % 9 else op.account
                commands.append(AmendOrder(order_id, account, op.quantity, ts))
        else:
            commands.append(msgspec.structs.replace(op, ts=ts))
    return commands


# A trade at 100 between two accounts the sequences never use: stops can wait from the start.
TRADED = [
    PlaceOrder(10_001, 8, Side.SELL, 100, 1, TS),
    PlaceOrder(10_002, 9, Side.BUY, 100, 1, TS),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.booleans())
def test_fast_book_agrees_with_the_reference(ops: list[Operation], traded: bool) -> None:
    assert_books_agree((TRADED if traded else []) + to_commands(ops))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trading)
def test_stops_trigger_alike_on_both_books(ops: list[Operation]) -> None:
    assert_books_agree(TRADED + to_commands(ops))


def assert_books_agree(commands: list[Command]) -> None:
    fast, naive = OrderBook(), ReferenceBook()
    all_events: list[Event] = []
    for command in commands:
        events = fast.apply(command)
        assert events == naive.apply(command), command
        assert resting(fast) == naive.resting()
        assert waiting(fast) == naive.waiting()
        assert fast.update_id == naive.update_id
        all_events += events
        fast.check_invariants()
    depth = fast.depth(1_000)
    assert depth.bids == naive.depth(Side.BUY)
    assert depth.asks == naive.depth(Side.SELL)
    assert_every_lot_accounted_for(all_events, fast)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(0, 200))
def test_restore_midway_then_continue_matches_an_uninterrupted_run(
    ops: list[Operation], cut: int
) -> None:
    commands = TRADED + to_commands(ops)
    cut %= len(commands) + 1
    uninterrupted = OrderBook()
    expected = [uninterrupted.apply(command) for command in commands]
    first = OrderBook()
    for command in commands[:cut]:
        first.apply(command)
    resumed = OrderBook.restore(decode_snapshot(encode(first.snapshot())))
    assert [resumed.apply(command) for command in commands[cut:]] == expected[cut:]
    assert resumed.state_hash() == uninterrupted.state_hash()
    resumed.check_invariants()


def assert_every_lot_accounted_for(events: list[Event], book: OrderBook) -> None:
    """Each accepted lot is traded, cancelled, expired or still resting, exactly once; each
    trade has one maker and one taker, two different orders of two different accounts."""
    accepted: Counter[int] = Counter()
    settled: Counter[int] = Counter()
    for event in events:
        if isinstance(event, OrderAccepted):
            accepted[event.order_id] += event.quantity
        elif isinstance(event, TradeExecuted):
            assert event.maker_order_id != event.taker_order_id
            assert event.maker_account != event.taker_account
            settled[event.maker_order_id] += event.quantity
            settled[event.taker_order_id] += event.quantity
        elif isinstance(event, OrderCancelled | OrderExpired):
            settled[event.order_id] += event.remaining
        elif isinstance(event, OrderAmended):
            settled[event.order_id] += event.released
    snapshot = book.snapshot()
    for order in snapshot.orders:
        settled[order.order_id] += order.remaining
    for stop in snapshot.stops:
        settled[stop.order_id] += stop.quantity
    assert settled == accepted
