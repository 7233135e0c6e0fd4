"""The reference's random walk: seeded (a run replays, markets walk apart), integer, never below
a tick, with the configured volatility."""

from __future__ import annotations

import itertools
import math
import statistics

from hypothesis import given
from hypothesis import strategies as st

from cryptex_mm.quoting import SUBTICKS
from cryptex_mm.walk import rng_for, step

START = 15_000 * SUBTICKS  # 150.00 on a 0.01 tick


def path(seed: int, symbol: str, steps: int, volatility_bps: float = 5.0) -> list[int]:
    rng, price, out = rng_for(seed, symbol), START, []
    for _ in range(steps):
        price = step(price, rng, volatility_bps)
        out.append(price)
    return out


def test_the_same_seed_walks_the_same_path() -> None:
    assert path(7, "SOL_USDC", 500) == path(7, "SOL_USDC", 500)
    assert path(7, "SOL_USDC", 50) != path(8, "SOL_USDC", 50)
    assert path(7, "SOL_USDC", 50) != path(7, "BTC_USDC", 50)


def test_no_volatility_stands_still() -> None:
    assert set(path(1, "SOL_USDC", 100, volatility_bps=0)) == {START}


def test_steps_have_the_configured_volatility() -> None:
    prices = [START, *path(3, "SOL_USDC", 20_000, volatility_bps=5)]
    moves = [math.log(b / a) * 10_000 for a, b in itertools.pairwise(prices)]
    assert abs(statistics.fmean(moves)) < 0.2
    assert 4.8 < statistics.stdev(moves) < 5.2


@given(seed=st.integers(0, 2**32), volatility=st.floats(0, 1_000), price=st.integers(1, 10**12))
def test_a_step_is_an_integer_never_below_a_tick_nor_halving(
    seed: int, volatility: float, price: int
) -> None:
    moved = step(price, rng_for(seed, "SOL_USDC"), volatility)
    assert isinstance(moved, int)
    assert moved >= max(SUBTICKS, price // 2)
