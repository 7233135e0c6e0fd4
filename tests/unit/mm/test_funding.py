"""Funding: a quote is placed only if what is free can lock it (a buy's lock includes the fee
reserve); one that fits only in part is placed smaller while it still stands for the quote."""

from __future__ import annotations

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from cryptex_mm.quoting import Funds, Quote, Resting, fit, lock, released

BUY, SELL = Side.BUY, Side.SELL


def test_a_buy_locks_its_notional_and_fee_reserve(sol: MarketSpec) -> None:
    # 1 SOL at 149.85: 149.85 USDC, plus the larger fee (0.2 %) rounded up per lot: a lot is
    # 0.14985 USDC, its fee 0.0002997, reserved as 0.000300.
    assert lock(sol, BUY, 14985, 1000) == 149_850_000 + 1000 * 300
    assert lock(sol, SELL, 14985, 1000) == 100_000_000  # 1 SOL in base units


def test_exact_funds_fit_and_one_unit_less_shrinks_the_quote(sol: MarketSpec) -> None:
    quote = Quote(BUY, 14985, 1000, 0)
    exact = lock(sol, BUY, 14985, 1000)
    assert fit(sol, [quote], Funds(0, exact)) == (quote,)
    assert fit(sol, [quote], Funds(0, exact - 1)) == (Quote(BUY, 14985, 999, 0),)


def test_less_than_half_is_skipped_and_later_quotes_still_try(sol: MarketSpec) -> None:
    quotes = [Quote(SELL, 15015, 1000, 0), Quote(SELL, 15030, 1000, 1), Quote(SELL, 15045, 400, 2)]
    # 1.4 SOL: the first ask whole, the second would be 0.4 of 1 (skipped), the third fits.
    assert fit(sol, quotes, Funds(140_000_000, 0)) == (quotes[0], quotes[2])


def test_a_shrunk_quote_below_the_minimum_notional_is_skipped(sol: MarketSpec) -> None:
    quote = Quote(BUY, 14985, 40, 0)  # 0.04 SOL: 5.994 USDC; half of it is below 5 USDC
    assert fit(sol, [quote], Funds(0, 5_000_000)) == ()


def test_cancelled_orders_release_at_least_what_they_have_left(sol: MarketSpec) -> None:
    orders = [Resting(1, BUY, 14985, 1000, executed=400), Resting(2, SELL, 15015, 1000)]
    assert released(sol, orders, Funds(7, 9)) == Funds(
        7 + 100_000_000, 9 + lock(sol, BUY, 14985, 600)
    )
