from __future__ import annotations

from pathlib import Path

import pytest

from cryptex.markets import MarketSpec, load_manifests

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"


@pytest.fixture(scope="session")
def sol() -> MarketSpec:
    return load_manifests(EXAMPLES)["SOL_USDC"]
