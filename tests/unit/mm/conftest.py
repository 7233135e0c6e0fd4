"""The example markets, and quoting parameters that read like the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptex.markets import MarketSpec, load_manifests
from cryptex_mm.quoting import QuoteParams

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"


@pytest.fixture(scope="session")
def sol() -> MarketSpec:
    return load_manifests(EXAMPLES)["SOL_USDC"]


@pytest.fixture(scope="session")
def btc() -> MarketSpec:
    return load_manifests(EXAMPLES)["BTC_USDC"]


@pytest.fixture(scope="session")
def params(sol: MarketSpec) -> QuoteParams:
    """3 levels of 1 SOL, 20 bps spread, 10 bps steps, skew 20 bps at 6 SOL off target."""
    return QuoteParams(
        levels=3, spread_bps=20, step_bps=10, size=1_000, skew_bps=20,
        inventory_limit=sol.base_units(6_000), requote_bps=10,
    )  # fmt: skip
