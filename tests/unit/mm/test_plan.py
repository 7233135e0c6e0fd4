"""The plan: keep what stands for a wanted quote, cancel the rest, place what is missing and
funded; rebuild around the reference only once it strays past the threshold."""

from __future__ import annotations

import dataclasses

import pytest

from cryptex.markets import MarketSpec
from cryptex.wire import Side, TradingState
from cryptex_mm import payloads
from cryptex_mm.quoting import Funds, Plan, Position, Quote, QuoteParams, Resting, plan

BUY, SELL = Side.BUY, Side.SELL
RICH = Funds(base=10**12, quote=10**12)
FLAT = Position(1_000_000_000, 0, target=1_000_000_000)  # on target: no skew


def resting_for(quotes: tuple[Quote, ...], first_id: int = 1) -> list[Resting]:
    return [Resting(first_id + i, q.side, q.price, q.quantity) for i, q in enumerate(quotes)]


def at(sol: MarketSpec, price: str) -> int:
    return payloads.subticks(sol, price)


def fresh(sol: MarketSpec, params: QuoteParams) -> Plan:
    return plan(
        sol, params, reference=at(sol, "150"), anchor=None, position=FLAT, funds=RICH, resting=[]
    )


def test_a_fresh_start_places_every_level(sol: MarketSpec, params: QuoteParams) -> None:
    first = fresh(sol, params)
    assert (first.anchor, first.requoted, first.cancel, first.keep) == (at(sol, "150"), True,
                                                                        (), ())  # fmt: skip
    assert first.place == first.wanted
    assert [(q.side, q.price) for q in first.place] == [
        (BUY, 14985), (SELL, 15015), (BUY, 14970), (SELL, 15030), (BUY, 14955), (SELL, 15045),
    ]  # fmt: skip


def test_the_quotes_in_place_make_an_idle_plan(sol: MarketSpec, params: QuoteParams) -> None:
    orders = resting_for(fresh(sol, params).place)
    again = plan(sol, params, reference=at(sol, "150.1"), anchor=at(sol, "150"), position=FLAT,
                 funds=RICH, resting=orders)  # fmt: skip
    assert again.idle
    assert not again.requoted
    assert again.anchor == at(sol, "150")  # 6.7 bps is under the 10 bps threshold
    assert again.keep == tuple(orders)


def test_a_move_past_the_threshold_replaces_every_quote(
    sol: MarketSpec, params: QuoteParams
) -> None:
    orders = resting_for(fresh(sol, params).place)
    moved = plan(sol, params, reference=at(sol, "151"), anchor=at(sol, "150"), position=FLAT,
                 funds=RICH, resting=orders)  # fmt: skip
    assert moved.requoted
    assert moved.anchor == at(sol, "151")
    assert moved.cancel == tuple(orders)
    assert moved.keep == ()
    assert [q.price for q in moved.place[:2]] == [15084, 15116]  # 151 -/+ 10 bps, rounded out


def test_a_partial_fill_is_kept_down_to_half_then_refilled(
    sol: MarketSpec, params: QuoteParams
) -> None:
    orders = resting_for(fresh(sol, params).place)
    half = [dataclasses.replace(orders[0], executed=500), *orders[1:]]
    kept = plan(sol, params, reference=at(sol, "150"), anchor=at(sol, "150"), position=FLAT,
                funds=RICH, resting=half)  # fmt: skip
    assert kept.idle
    less = [dataclasses.replace(orders[0], executed=501), *orders[1:]]
    refilled = plan(sol, params, reference=at(sol, "150"), anchor=at(sol, "150"), position=FLAT,
                    funds=RICH, resting=less)  # fmt: skip
    assert refilled.cancel == (less[0],)
    assert refilled.place == (Quote(BUY, 14985, 1000, 0),)


def test_strays_and_duplicates_are_cancelled(sol: MarketSpec, params: QuoteParams) -> None:
    orders = resting_for(fresh(sol, params).place)
    stray = Resting(90, BUY, 14000, 1000)
    twin = Resting(91, SELL, 15015, 1000)
    result = plan(sol, params, reference=at(sol, "150"), anchor=at(sol, "150"), position=FLAT,
                  funds=RICH, resting=[*orders, stray, twin])  # fmt: skip
    assert result.cancel == (stray, twin)
    assert result.place == ()


def test_cancelled_locks_fund_the_replacements(sol: MarketSpec, params: QuoteParams) -> None:
    orders = resting_for(fresh(sol, params).place)
    # Nothing free: every lock is in the old quotes, which the move cancels.
    moved = plan(sol, params, reference=at(sol, "149"), anchor=at(sol, "150"), position=FLAT,
                 funds=Funds(0, 0), resting=orders)  # fmt: skip
    assert len(moved.cancel) == 6
    # Bids are lower now, so each costs less than the one it replaces; asks lock the same SOL.
    assert [q.quantity for q in moved.place] == [1000] * 6


@pytest.mark.parametrize(
    ("state", "cancelled"),
    [(TradingState.CANCEL_ONLY, True), (TradingState.PRE_OPEN, True),
     (TradingState.HALTED, False), (TradingState.CLOSED, False)],
)  # fmt: skip
def test_a_market_that_takes_no_orders_gets_none(
    sol: MarketSpec, params: QuoteParams, state: TradingState, cancelled: bool
) -> None:
    closed = dataclasses.replace(sol, trading_state=state)
    orders = resting_for(fresh(sol, params).place)
    result = plan(closed, params, reference=at(sol, "150"), anchor=at(sol, "150"), position=FLAT,
                  funds=RICH, resting=orders)  # fmt: skip
    assert result.place == ()
    assert result.wanted == ()
    assert result.cancel == (tuple(orders) if cancelled else ())
    assert result.keep == (() if cancelled else tuple(orders))


def test_a_refused_quote_is_not_tried_again_until_the_anchor_moves(
    sol: MarketSpec, params: QuoteParams
) -> None:
    orders = resting_for(fresh(sol, params).place)[1:]  # the best bid was refused
    refused = {(BUY, 14985)}
    same = plan(sol, params, reference=at(sol, "150"), anchor=at(sol, "150"), position=FLAT,
                funds=RICH, resting=orders, refused=refused)  # fmt: skip
    assert same.idle
    assert same.wanted == ()
    moved = plan(sol, params, reference=at(sol, "151"), anchor=at(sol, "150"), position=FLAT,
                 funds=RICH, resting=orders, refused=refused)  # fmt: skip
    assert len(moved.place) == 6
