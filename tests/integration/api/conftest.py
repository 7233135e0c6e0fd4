"""The API as a real process (`python -m cryptex_api`) with a real PostgreSQL, its own Redis and
a real engine for SOL_USDC, shared by the module's tests: each test signs up accounts of its
own, so tests never see each other's money."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from cryptex import registry
from cryptex.ledger import Ledger
from cryptex.markets import MarketSpec, load_manifests
from tests.integration.engine.harness import EXAMPLES, EngineProcess
from tests.servers import PostgresServer, RedisServer, free_port

ADMIN_EMAIL = "admin@cryptex.test"
ADMIN_PASSWORD = "admin password for tests"
JWT_SECRET = "a test secret that is long enough for HS256 keys"


@dataclass
class Stack:
    url: str
    redis: RedisServer
    postgres: PostgresServer
    markets: dict[str, MarketSpec]
    log: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def ledger(self) -> Ledger:
        return Ledger(self.redis.client())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dirs: their parents are closed to the postgres user.
    directory = Path(tempfile.mkdtemp(prefix="cryptex-pg-"))
    server = PostgresServer(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("api")
    redis_server = RedisServer(logs / "redis")
    redis_server.start()
    client = redis_server.client()
    for path in sorted(EXAMPLES.glob("*.yaml")):
        registry.register(client, yaml.safe_load(path.read_text()))
    markets = load_manifests(EXAMPLES)
    engine = EngineProcess(redis_server.url, markets["SOL_USDC"], logs, from_registry=True)
    engine.start()
    port = free_port()
    log_path = logs / "api.log"
    env = {
        **os.environ,
        "CRYPTEX_REDIS_URL": redis_server.url,
        "CRYPTEX_DATABASE_URL": postgres_server.url,
        "CRYPTEX_PORT": str(port),
        "CRYPTEX_JWT_SECRET": JWT_SECRET,
        "CRYPTEX_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "CRYPTEX_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CRYPTEX_ORDERS_PER_SECOND": "25",  # a burst of 50: the 429 test exceeds it
        "CRYPTEX_LOGINS_PER_MINUTE": "600",
        "CRYPTEX_CORS_ORIGINS": '["https://app.example"]',
        "CRYPTEX_INSTANCE": f"api-test-{uuid.uuid4().hex[:6]}",
    }
    with log_path.open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "cryptex_api"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if api.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start: {log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    yield Stack(url, redis_server, postgres_server, markets, log_path)
    api.terminate()
    api.wait(timeout=20)
    engine.stop()
    client.close()
    redis_server.stop()


@dataclass
class Trader:
    account: int
    token: str
    http: httpx.Client


def sign_up(stack: Stack) -> Trader:
    email = f"trader-{uuid.uuid4().hex[:10]}@example.com"
    with stack.client() as anonymous:
        created = anonymous.post("/api/v1/signup", json={"email": email, "password": "s3cret-pass"})
        assert created.status_code == 201, created.text
        signed = anonymous.post("/api/v1/signin", json={"email": email, "password": "s3cret-pass"})
        assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    return Trader(created.json()["accountId"], token, stack.client(token))


@pytest.fixture(scope="session")
def admin_token(stack: Stack) -> str:
    with stack.client() as anonymous:
        signed = anonymous.post(
            "/api/v1/signin", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
    assert signed.status_code == 200, signed.text
    token: str = signed.json()["token"]
    return token


def fund(stack: Stack, admin_token: str, trader: Trader, asset: str, amount: str) -> None:
    with stack.client(admin_token) as admin:
        done = admin.post(
            "/api/v1/admin/deposits",
            json={"account": trader.account, "asset": asset, "amount": amount,
                  "reference": f"t-{uuid.uuid4().hex}"},
        )  # fmt: skip
    assert done.status_code == 200, done.text


@pytest.fixture
def traders(stack: Stack, admin_token: str) -> Iterator[tuple[Trader, Trader]]:
    """Two funded traders: A holds USDC, B holds SOL. The ledger audit holds afterwards."""
    a, b = sign_up(stack), sign_up(stack)
    fund(stack, admin_token, a, "USDC", "10000")
    fund(stack, admin_token, b, "SOL", "100")
    yield a, b
    for trader in (a, b):  # leave the shared book as the test found it
        assert trader.http.delete("/api/v1/orders/open").status_code == 200
        trader.http.close()
    report = stack.ledger().audit()
    assert report.ok, report.problems
