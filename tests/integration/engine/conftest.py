"""An engine process per test over the session's Redis, and an exchange driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cryptex.markets import MarketSpec, load_manifests
from tests.integration.engine.harness import EXAMPLES, EngineProcess, Exchange
from tests.servers import RedisServer


@pytest.fixture(scope="session")
def sol() -> MarketSpec:
    return load_manifests(EXAMPLES)["SOL_USDC"]


@pytest.fixture
def engine(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, tmp_path: Path
) -> Iterator[EngineProcess]:
    process = EngineProcess(redis_server.url, sol, tmp_path)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def exchange(redis_client: redis.Redis, sol: MarketSpec) -> Iterator[Exchange]:
    exchange = Exchange(redis_client, sol)
    yield exchange
    report = exchange.ledger.audit()
    assert report.ok, report.problems
