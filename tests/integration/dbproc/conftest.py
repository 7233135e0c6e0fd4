"""A PostgreSQL server for the session and a fresh database per test; the session's Redis with
SOL_USDC in the registry; a real engine producing the events and an exchange driving it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from cryptex.markets import MarketSpec, load_manifests
from tests.integration.dbproc.harness import DbprocProcess, list_market
from tests.integration.engine.harness import EXAMPLES, EngineProcess, Exchange
from tests.servers import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dirs: their parents are closed to the postgres user.
    directory = Path(tempfile.mkdtemp(prefix="cryptex-pg-"))
    server = PostgresServer(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of its own: the DB processor migrates it at start."""
    name = f"dbproc_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(postgres_server.url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    yield postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def markets() -> dict[str, MarketSpec]:
    return load_manifests(EXAMPLES)


@pytest.fixture
def sol(markets: dict[str, MarketSpec], redis_client: redis.Redis) -> MarketSpec:
    """SOL_USDC, listed in the (emptied) registry."""
    list_market(redis_client, "sol-usdc")
    return markets["SOL_USDC"]


@pytest.fixture
def engine(redis_server: RedisServer, sol: MarketSpec, tmp_path: Path) -> Iterator[EngineProcess]:
    process = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def exchange(redis_client: redis.Redis, sol: MarketSpec) -> Exchange:
    return Exchange(redis_client, sol)


@pytest.fixture
def dbproc(
    redis_server: RedisServer, database_url: str, sol: MarketSpec, tmp_path: Path
) -> Iterator[DbprocProcess]:
    process = DbprocProcess(redis_server.url, database_url, tmp_path)
    process.start()
    yield process
    assert process.stop() == 0
