"""A ledger over the test Redis, the example markets, and funded accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cryptex.ledger import Ledger
from cryptex.markets import MarketSpec, load_manifests

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"
TS = 1_700_000_000_000


@pytest.fixture(scope="session")
def markets() -> dict[str, MarketSpec]:
    return load_manifests(EXAMPLES)


@pytest.fixture
def sol(markets: dict[str, MarketSpec]) -> MarketSpec:
    return markets["SOL_USDC"]


@pytest.fixture
def ledger(redis_client: redis.Redis) -> Iterator[Ledger]:
    ledger = Ledger(redis_client)
    yield ledger
    report = ledger.audit()
    assert report.ok, report.problems
