"""The real stack of the API tests (Redis, PostgreSQL, the SOL_USDC engine, the API process:
their fixtures, imported), a WebSocket server over the same Redis, and the bot as a process
per test. Each test's bot has an account of its own, funded by the admin route, and cancels
its quotes when it stops, so the shared book is empty between tests; the ledger audit holds
after each."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cryptex.markets import MarketSpec
from tests.integration.api.conftest import (  # noqa: F401  (fixtures, used by name)
    JWT_SECRET,
    Stack,
    admin_token,
    postgres_server,
    stack,
)
from tests.integration.engine.harness import EngineProcess
from tests.integration.mm.harness import Account, MmProcess, PriceFeed, new_account
from tests.integration.ws.harness import WsProcess

# Fast loops for tests: a plan every 0.2 s, REST re-read every 0.5 s, short backoffs.
FAST = {
    "interval_s": "0.2", "resync_s": "0.5", "backoff_base_s": "0.1", "backoff_cap_s": "1",
    "request_timeout_s": "3", "volatility_bps": "0", "targets": "SOL_USDC=10",
    "sizes": "SOL_USDC=1", "prices": "SOL_USDC=150",
}  # fmt: skip


@pytest.fixture(scope="session")
def ws(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WsProcess]:  # noqa: F811
    server = WsProcess(
        stack.redis.url, tmp_path_factory.mktemp("ws"), jwt_secret=JWT_SECRET,
        markets_refresh_s="0.5",
    )  # fmt: skip
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def btc_engine(
    stack: Stack,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MarketSpec]:
    """BTC_USDC's engine too (listed by the stack, not run by it)."""
    market = stack.markets["BTC_USDC"]
    engine = EngineProcess(
        stack.redis.url, market, tmp_path_factory.mktemp("btc"), from_registry=True
    )
    engine.start()
    yield market
    engine.stop()


@pytest.fixture
def fund(stack: Stack, admin_token: str) -> Callable[[Account, str, str], None]:  # noqa: F811
    def deposit(account: Account, asset: str, amount: str) -> None:
        with stack.client(admin_token) as admin:
            done = admin.post(
                "/api/v1/admin/deposits",
                json={"account": account.id, "asset": asset, "amount": amount,
                      "reference": f"mm-{uuid.uuid4().hex}"},
            )  # fmt: skip
        assert done.status_code == 200, done.text

    return deposit


@pytest.fixture
def bot_account(stack: Stack) -> Iterator[Account]:  # noqa: F811
    account = new_account(stack.url)
    yield account
    account.cancel_all()
    account.http.close()


@pytest.fixture
def other_account(stack: Stack) -> Iterator[Callable[[], Account]]:  # noqa: F811
    """Traders besides the bot; their orders are cancelled at the end."""
    opened: list[Account] = []

    def open_one() -> Account:
        opened.append(new_account(stack.url))
        return opened[-1]

    yield open_one
    for account in opened:
        account.cancel_all()
        account.http.close()


@pytest.fixture
def feed() -> Iterator[PriceFeed]:
    server = PriceFeed("150")
    yield server
    server.close()


@pytest.fixture
def start_mm(
    stack: Stack,  # noqa: F811
    ws: WsProcess,
    tmp_path: Path,
) -> Iterator[Callable[..., MmProcess]]:
    """Start bots (fast loops, SOL_USDC at 150, 1 SOL a level, on target at 10 SOL); at the end
    each must stop with 0 on SIGTERM, and the ledger must balance."""
    started: list[MmProcess] = []

    def start(**settings: str) -> MmProcess:
        bot = MmProcess(tmp_path, **{"api_url": stack.url, "ws_url": ws.url, **FAST, **settings})
        bot.start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        assert bot.stop() == 0, bot.log_path.read_text()[-3000:]
    report = stack.ledger().audit()
    assert report.ok, report.problems
