"""A market the bot is told to quote but that is not listed (yet) is waited for: the bot says
so, answers 503 on /healthz, places nothing, and still stops cleanly."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.mm.harness import Account, MmProcess, wait_until


def test_an_unlisted_market_is_waited_for(
    bot_account: Account, start_mm: Callable[..., MmProcess]
) -> None:
    bot = start_mm(email=bot_account.email, markets="SOL_USDC,DOGE_USDC")

    def waiting() -> bool:
        return any(line["msg"] == "waiting for markets to be listed" for line in bot.log())

    wait_until(waiting, what="the bot waiting for DOGE_USDC")
    assert next(line for line in bot.log() if line["msg"].startswith("waiting"))["markets"] == [
        "DOGE_USDC"
    ]
    assert bot.health() == 503
    assert bot_account.open_orders() == []
