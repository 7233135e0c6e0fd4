"""A stack with the market maker: it quotes every market, a trader takes one of its quotes, and
the ledger audit passes. Skipped while `cryptex_mm` is not installed."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.e2e.harness import StackRun, sign_up


def _market_maker_installed() -> bool:
    try:
        return importlib.util.find_spec("cryptex_mm.__main__") is not None
    except ModuleNotFoundError:
        return False


pytestmark = pytest.mark.skipif(
    not _market_maker_installed(), reason="cryptex_mm is not installed (make install)"
)


@pytest.fixture(scope="module")
def stack_with_mm() -> Iterator[StackRun]:
    run = StackRun("--no-monitoring")
    try:
        run.up()
        yield run
    finally:
        run.remove()


async def test_a_trader_takes_a_quote_of_the_market_maker(stack_with_mm: StackRun) -> None:
    stack = stack_with_mm
    assert stack.state["mm"] is not None
    trader = await sign_up(stack, {"USDC": "10000", "SOL": "10"})
    public = await stack.ws_client()
    await public.subscribe("trades@SOL_USDC")
    try:
        deadline = time.monotonic() + 20
        while True:
            depth = await trader.get("/api/v1/depth", symbol="SOL_USDC", limit=5)
            if depth["bids"] or depth["asks"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert depth["bids"] or depth["asks"], "the market maker quoted nothing in 20 s"
        # Take the best quote on whichever side there is one, a small part of it.
        side, (price, available) = (
            ("buy", depth["asks"][0]) if depth["asks"] else ("sell", depth["bids"][0])
        )
        quantity = min(Decimal(available), Decimal("0.05"))
        taken = await trader.place(side, price, str(quantity), "SOL_USDC", timeInForce="IOC")
        assert taken["fills"], taken
        trade_ids = {fill["tradeId"] for fill in taken["fills"]}
        await public.until(lambda: trade_ids <= {t["id"] for t in public.data("trades@SOL_USDC")})
        stack.audit()
    finally:
        await public.close()
        await trader.cancel_all()
        await trader.http.aclose()
