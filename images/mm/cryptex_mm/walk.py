"""The reference price's random walk, in sub-ticks. Seeded: the caller passes a
`random.Random(f"{seed}:{symbol}")`, so a run replays exactly and markets walk apart.

The random draw is the only float; the price it moves is an integer, changed by a whole number
of parts per million."""

from __future__ import annotations

import random

from cryptex_mm.quoting import SUBTICKS

PPM = 1_000_000
_LARGEST_FALL_PPM = PPM // 2  # one step never halves the price (however large the volatility)


def step(reference: int, rng: random.Random, volatility_bps: float) -> int:
    """One step: a normal move with a standard deviation of `volatility_bps` (log-like:
    proportional to the price), never below one tick."""
    move = round(rng.gauss(0.0, 1.0) * volatility_bps * 100)  # ppm
    move = max(move, -_LARGEST_FALL_PPM)
    return max(SUBTICKS, reference * (PPM + move) // PPM)


def rng_for(seed: int, symbol: str) -> random.Random:
    return random.Random(f"{seed}:{symbol}")
