"""Stopping: SIGTERM (the process) or cancelling `MarketMaker.run` (a program that embeds it)
cancels every quote before the bot exits, unless it is told to leave them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from cryptex_mm.maker import MarketMaker
from cryptex_mm.metrics import MmMetrics
from cryptex_mm.settings import MmSettings
from tests.integration.api.conftest import Stack
from tests.integration.mm.harness import PASSWORD, Account, MmProcess, wait_until
from tests.integration.ws.harness import WsProcess


@pytest.fixture(autouse=True)
def funded(bot_account: Account, fund: Callable[[Account, str, str], None]) -> None:
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")


def test_sigterm_cancels_every_quote_then_exits_0(
    bot_account: Account, start_mm: Callable[..., MmProcess]
) -> None:
    bot = start_mm(email=bot_account.email)
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    assert bot.stop(timeout=15) == 0
    assert bot_account.open_orders() == []
    assert bot_account.balances() == {
        "SOL": ("10.00000000", "0.00000000"),
        "USDC": ("2000.000000", "0.000000"),
    }
    assert any(line["msg"] == "open orders cancelled" and line["count"] == 6 for line in bot.log())


def test_sigterm_leaves_the_quotes_when_told(
    bot_account: Account, start_mm: Callable[..., MmProcess]
) -> None:
    bot = start_mm(email=bot_account.email, cancel_on_exit="false")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    assert bot.stop(timeout=15) == 0
    assert len(bot_account.open_orders()) == 6  # the fixture cancels them


async def test_cancelling_the_task_cancels_every_quote(
    stack: Stack, ws: WsProcess, bot_account: Account
) -> None:
    settings = MmSettings(
        email=bot_account.email, password=SecretStr(PASSWORD), api_url=stack.url, ws_url=ws.url,
        prices={"SOL_USDC": "150"}, targets={"SOL_USDC": "10"}, sizes={"SOL_USDC": "1"},
        volatility_bps=0, interval_s=0.2, resync_s=0.5,
    )  # fmt: skip
    async with aiohttp.ClientSession() as http:
        bot = MarketMaker(settings, http, MmMetrics(CollectorRegistry()))
        task = asyncio.create_task(bot.run(asyncio.Event()))
        async with asyncio.timeout(20):
            while len(await asyncio.to_thread(bot_account.open_orders)) < 6:
                await asyncio.sleep(0.1)
        assert len(bot.markets["SOL_USDC"].orders.resting()) == 6
        assert bot.healthy()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()
    assert await asyncio.to_thread(bot_account.open_orders) == []
