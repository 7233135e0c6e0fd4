"""A WebSocket server process per test over the session's Redis (emptied per test), with
SOL_USDC listed in the registry and, for tests that trade, its engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
import yaml

from cryptex import registry
from cryptex.markets import MarketSpec, load_manifests
from cryptex.tokens import Principal, Tokens
from tests.integration.engine.harness import EXAMPLES, EngineProcess, Exchange
from tests.integration.ws.harness import JWT_SECRET, Client, WsProcess
from tests.servers import RedisServer


def manifest(symbol: str) -> dict[str, object]:
    market = load_manifests(EXAMPLES)[symbol]
    loaded: dict[str, object] = yaml.safe_load(
        (EXAMPLES / f"{market.resource_name}.yaml").read_text()
    )
    return loaded


@pytest.fixture(scope="session")
def sol() -> MarketSpec:
    return load_manifests(EXAMPLES)["SOL_USDC"]


@pytest.fixture
def listed(redis_client: redis.Redis) -> redis.Redis:
    """SOL_USDC in the registry."""
    registry.register(redis_client, manifest("SOL_USDC"))
    return redis_client


@pytest.fixture
def start_ws(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[..., WsProcess]]:
    started: list[WsProcess] = []

    def start(**settings: str) -> WsProcess:
        server = WsProcess(redis_server.url, tmp_path, **settings)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.stop() == 0, server.log_path.read_text()[-3000:]


@pytest.fixture
def ws(listed: redis.Redis, start_ws: Callable[..., WsProcess]) -> WsProcess:
    return start_ws()


@pytest.fixture
async def open_client(ws: WsProcess) -> AsyncIterator[Callable[[], Awaitable[Client]]]:
    """Connections to the test's server, all closed at teardown."""
    opened: list[Client] = []

    async def open_one() -> Client:
        client = await Client.open(ws.url)
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        await client.close()


@pytest.fixture
def engine(
    redis_server: RedisServer, listed: redis.Redis, sol: MarketSpec, tmp_path: Path
) -> Iterator[EngineProcess]:
    process = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def exchange(listed: redis.Redis, sol: MarketSpec) -> Iterator[Exchange]:
    exchange = Exchange(listed, sol)
    yield exchange
    report = exchange.ledger.audit()
    assert report.ok, report.problems


@pytest.fixture(scope="session")
def token_for() -> Callable[[int], str]:
    tokens = Tokens(JWT_SECRET, 3600)
    return lambda account: tokens.issue(Principal(account, "trader"))
