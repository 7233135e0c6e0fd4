"""Inventory skew: holding more base than the target lowers the quotes and shrinks the bids,
holding less raises them and shrinks the asks; at the limit that side stops."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from cryptex_mm import payloads
from cryptex_mm.quoting import Position, QuoteParams, desired_quotes, neutral_target

BUY, SELL = Side.BUY, Side.SELL


def sides(quotes: list) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:  # type: ignore[type-arg]
    return (
        [(q.price, q.quantity) for q in quotes if q.side is BUY],
        [(q.price, q.quantity) for q in quotes if q.side is SELL],
    )


def test_the_neutral_target_is_half_the_value(sol: MarketSpec) -> None:
    at_150 = payloads.subticks(sol, "150")
    # 10 SOL and 1500 USDC are worth 20 SOL: the target holds 10.
    assert neutral_target(sol, at_150, sol.base.to_units("10"), 1_500_000_000) == 1_000_000_000
    # Only USDC: aim at half of it in SOL.
    assert neutral_target(sol, at_150, 0, 3_000_000_000) == 1_000_000_000


def test_long_lowers_the_quotes_and_shrinks_the_bids(sol: MarketSpec, params: QuoteParams) -> None:
    at_150 = payloads.subticks(sol, "150")
    flat = sides(desired_quotes(sol, params, at_150, Position(600_000_000, 0, target=600_000_000)))
    # 3 SOL over a target of 6 with a 6 SOL limit: half the skew, 10 bps down; bids half size.
    long = sides(desired_quotes(sol, params, at_150, Position(900_000_000, 0, target=600_000_000)))
    assert flat == ([(14985, 1000), (14970, 1000), (14955, 1000)],
                    [(15015, 1000), (15030, 1000), (15045, 1000)])  # fmt: skip
    assert long == ([(14970, 500), (14955, 500), (14940, 500)],
                    [(15000, 1000), (15015, 1000), (15030, 1000)])  # fmt: skip


def test_short_raises_the_quotes_and_shrinks_the_asks(sol: MarketSpec, params: QuoteParams) -> None:
    at_150 = payloads.subticks(sol, "150")
    short = sides(desired_quotes(sol, params, at_150, Position(300_000_000, 0, target=600_000_000)))
    # The centre is 150.15; levels are multiples of it: 150.15 x 0.999 = 149.99985, so 149.99.
    assert short == ([(14999, 1000), (14984, 1000), (14969, 1000)],
                     [(15031, 500), (15046, 500), (15061, 500)])  # fmt: skip


def test_at_the_limit_the_side_that_adds_to_it_stops(sol: MarketSpec, params: QuoteParams) -> None:
    at_150 = payloads.subticks(sol, "150")
    far_long = desired_quotes(sol, params, at_150, Position(2_000_000_000, 0, target=0))
    assert {q.side for q in far_long} == {SELL}
    far_short = desired_quotes(sol, params, at_150, Position(0, 0, target=2_000_000_000))
    assert {q.side for q in far_short} == {BUY}


def test_a_zero_limit_turns_skew_off(sol: MarketSpec, params: QuoteParams) -> None:
    off = dataclasses.replace(params, inventory_limit=0)
    at_150 = payloads.subticks(sol, "150")
    assert desired_quotes(sol, off, at_150, Position(10**12, 0, target=0)) == desired_quotes(
        sol, off, at_150, Position(0, 0, target=0)
    )


@given(base=st.integers(0, 2 * 10**9), more=st.integers(1, 10**9), target=st.integers(0, 2 * 10**9))
def test_more_base_never_raises_a_quote(
    sol: MarketSpec, params: QuoteParams, base: int, more: int, target: int
) -> None:
    at_150 = payloads.subticks(sol, "150")
    before = sides(desired_quotes(sol, params, at_150, Position(base, 0, target=target)))
    after = sides(desired_quotes(sol, params, at_150, Position(base + more, 0, target=target)))
    for old, new in zip(before[0], after[0], strict=False):  # bids may disappear, not move up
        assert new[0] <= old[0]
        assert new[1] <= old[1]
    assert len(after[0]) <= len(before[0])
    assert len(after[1]) >= len(before[1])  # asks may come back, never go
    for old, new in zip(before[1], after[1], strict=False):
        assert new[0] <= old[0]


def test_the_default_target_is_valued_at_one_price_not_the_anchor(sol: MarketSpec) -> None:
    at_150, at_151 = payloads.subticks(sol, "150"), payloads.subticks(sol, "151")
    # The stack's funding: 4000 SOL and 600000 USDC, worth 8000 SOL at 150: on target.
    held = Position(sol.base.to_units("4000"), 600_000_000_000, valued_at=at_150)
    assert held.target_at(sol, at_150) == held.target_at(sol, at_151) == sol.base.to_units("4000")
    # Valued at each anchor instead, the target would fall by 13.2 SOL on a 0.67% rise.
    drifting = dataclasses.replace(held, valued_at=None)
    assert held.target_at(sol, at_151) - drifting.target_at(sol, at_151) > sol.base.to_units("13")


@given(move_bps=st.integers(-500, 500))
def test_a_price_drift_alone_keeps_both_sides_at_full_size(
    sol: MarketSpec, params: QuoteParams, move_bps: int
) -> None:
    """Nothing traded: wherever the anchor drifts, the bot quotes both sides, unskewed, though
    its quote holding is worth a thousand times its inventory limit."""
    at_150 = payloads.subticks(sol, "150")
    held = Position(sol.base.to_units("4000"), 600_000_000_000, valued_at=at_150)
    anchor = at_150 * (10_000 + move_bps) // 10_000
    bids, asks = sides(desired_quotes(sol, params, anchor, held))
    assert [lots for _, lots in bids] == [lots for _, lots in asks] == [1_000] * 3
