"""Levels around the centre: prices rounded away from it, a tick apart at least, sizes bumped up
to the market's minimums, nothing that fails a filter."""

from __future__ import annotations

import dataclasses

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from cryptex_mm import payloads
from cryptex_mm.quoting import Position, Quote, QuoteParams, desired_quotes

BUY, SELL = Side.BUY, Side.SELL


def flat(spec: MarketSpec, base: str = "10", quote: str = "1500") -> Position:
    """Holdings worth half base, half quote at 150: no skew."""
    return Position(spec.base.to_units(base), spec.quote.to_units(quote))


def test_three_levels_a_side_around_150(sol: MarketSpec, params: QuoteParams) -> None:
    quotes = desired_quotes(sol, params, payloads.subticks(sol, "150"), flat(sol))
    assert quotes == [
        Quote(BUY, 14985, 1000, 0), Quote(SELL, 15015, 1000, 0),
        Quote(BUY, 14970, 1000, 1), Quote(SELL, 15030, 1000, 1),
        Quote(BUY, 14955, 1000, 2), Quote(SELL, 15045, 1000, 2),
    ]  # fmt: skip
    assert [sol.format_price(q.price) for q in quotes[:2]] == ["149.85", "150.15"]


def test_prices_round_away_from_the_centre(sol: MarketSpec, params: QuoteParams) -> None:
    # 150.005 is half a tick: 10 bps either side are 149.855 and 150.155.
    quotes = desired_quotes(sol, params, payloads.subticks(sol, "150.005"), flat(sol))
    assert (quotes[0].price, quotes[1].price) == (14985, 15016)


def test_no_spread_still_leaves_a_tick_between_bid_and_ask(
    sol: MarketSpec, params: QuoteParams
) -> None:
    tight = dataclasses.replace(params, spread_bps=0, step_bps=0)
    quotes = desired_quotes(sol, tight, payloads.subticks(sol, "150"), flat(sol))
    bids = [q.price for q in quotes if q.side is BUY]
    asks = [q.price for q in quotes if q.side is SELL]
    assert (bids, asks) == ([15000, 14999, 14998], [15001, 15002, 15003])


def test_a_small_size_is_raised_to_the_minimum_notional(
    sol: MarketSpec, params: QuoteParams
) -> None:
    tiny = dataclasses.replace(params, size=1, levels=1)  # 0.001 SOL: 0.15 USDC
    quotes = desired_quotes(sol, tiny, payloads.subticks(sol, "150"), flat(sol))
    # 5 USDC at 149.85 needs 0.034 SOL (0.033 is 4.945); the ask at 150.15 the same.
    assert [(q.price, q.quantity) for q in quotes] == [(14985, 34), (15015, 34)]
    for quote in quotes:
        sol.check_order(quote.price, quote.quantity)


def test_a_size_above_the_maximum_is_cut_to_it(sol: MarketSpec, params: QuoteParams) -> None:
    huge = dataclasses.replace(params, size=sol.max_qty + 5, levels=1, inventory_limit=0)
    quotes = desired_quotes(sol, huge, payloads.subticks(sol, "1"), flat(sol))
    assert {q.quantity for q in quotes} == {sol.max_qty}


def test_bids_that_would_be_free_are_left_out(sol: MarketSpec, params: QuoteParams) -> None:
    wide = dataclasses.replace(params, levels=4, spread_bps=2_000, step_bps=4_000)
    # Bids 10%, 50%, 90% and 130% under 0.05: 0.045, 0.025, 0.005 and below zero.
    quotes = desired_quotes(sol, wide, payloads.subticks(sol, "0.05"), Position(0, 0))
    assert [sol.format_price(q.price) for q in quotes if q.side is BUY] == ["0.04", "0.02"]
    assert len([q for q in quotes if q.side is SELL]) == 4


def test_a_coarser_tick_formats_with_its_own_places(btc: MarketSpec, params: QuoteParams) -> None:
    btc_params = dataclasses.replace(params, size=100, inventory_limit=0)  # 0.001 BTC a level
    quotes = desired_quotes(btc, btc_params, payloads.subticks(btc, "60000"), Position(0, 0))
    assert [btc.format_price(q.price) for q in quotes[:2]] == ["59940.0", "60060.0"]
    assert btc.format_quantity(quotes[0].quantity) == "0.00100"
