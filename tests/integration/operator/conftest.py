"""A market listed the operator's way, a real engine process reading it from the registry, and
an exchange driver; the ledger's audit must pass after every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cryptex.markets import MarketSpec
from cryptex.wire import Side
from cryptex_operator import control, manifests
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.operator.cluster import Place, open_client_sessions
from tests.servers import RedisServer
from tests.unit.operator.markets import resource


@pytest.fixture(autouse=True)
def no_client_session_left_open() -> Iterator[None]:
    """Every aiohttp session a test opened (kopf's, the operator's, the test's own) is closed
    when it ends: one left to the garbage collector fails a later test, or pytest's exit."""
    yield
    assert open_client_sessions() == []


@pytest.fixture
def sol_resource() -> dict[str, Any]:
    return resource("sol-usdc")


@pytest.fixture
def sol(redis_client: redis.Redis, sol_resource: dict[str, Any]) -> MarketSpec:
    """SOL_USDC, listed as the operator lists it (registry entry, streams, groups)."""
    return control.list_market(redis_client, manifests.registry_manifest(sol_resource, "Active"))


@pytest.fixture
def engine(redis_server: RedisServer, sol: MarketSpec, tmp_path: Path) -> Iterator[EngineProcess]:
    process = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def exchange(redis_client: redis.Redis, sol: MarketSpec) -> Iterator[Exchange]:
    exchange = Exchange(redis_client, sol)
    yield exchange
    report = exchange.ledger.audit()
    assert report.ok, report.problems


@pytest.fixture
def place(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Place:
    """Where a test runs the operator (`async with running_operator(place) as cluster`). The
    operator runs inside the test itself: pytest-asyncio runs an async fixture's setup and
    teardown as separate calls, and kopf's task does not outlive the first."""
    return Place(redis_server, redis_client, tmp_path, monkeypatch)


def rest_orders(exchange: Exchange) -> list[int]:
    """Four orders resting on the book, one of them partly filled; returns their ids."""
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    exchange.fund(3, "SOL", "1")
    resting = [
        exchange.placed(1, Side.BUY, "90", "1"),
        exchange.placed(1, Side.BUY, "91", "2"),
        exchange.placed(2, Side.SELL, "120", "3"),
        exchange.placed(2, Side.SELL, "121", "1.5"),
    ]
    exchange.placed(3, Side.SELL, "91", "0.5")  # fills half of the 91 buy, at 91
    exchange.wait_settled()
    return resting
