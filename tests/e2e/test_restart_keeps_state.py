"""`down` then `up` from the same data dir: balances, open orders, the book, trades, order
history and candles are all there, issued tokens still work (the JWT secret is kept), and the
restored book goes on matching."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from tests.e2e.harness import StackRun, Trader, sign_in_again, sign_up

MARKET = "BTC_USDC"  # this file's market: no other test here trades it


async def _state(trader: Trader) -> dict[str, Any]:
    return {
        "balances": await trader.balances(),
        "open": await trader.get("/api/v1/orders/open", market=MARKET),
    }


async def _history(trader: Trader, count: int) -> list[Any]:
    """The order history once the DB processor has written `count` orders."""
    deadline = time.monotonic() + 15
    while True:
        rows: list[Any] = await trader.get("/api/v1/orders", market=MARKET)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_a_restarted_stack_has_every_balance_and_order(stack: StackRun) -> None:
    frank = await sign_up(stack, {"USDC": "100000"})
    grace = await sign_up(stack, {"BTC": "2"})
    resting_bid = await frank.place("buy", "59000.0", "0.01", MARKET)
    resting_ask = await grace.place("sell", "61000.0", "0.02", MARKET)
    await grace.place("sell", "60000.0", "0.005", MARKET)
    taken = await frank.place("buy", "60000.0", "0.008", MARKET)  # 0.005 fills, 0.003 rests
    assert (taken["status"], taken["executedQty"]) == ("PARTIALLY_FILLED", "0.00500")
    before = {"frank": await _state(frank), "grace": await _state(grace)}
    assert len(before["frank"]["open"]) == 2
    assert len(before["grace"]["open"]) == 1
    depth = await frank.get("/api/v1/depth", symbol=MARKET, limit=10)
    trades = await frank.get("/api/v1/trades", symbol=MARKET, limit=10)
    history = {"frank": await _history(frank, 2), "grace": await _history(grace, 2)}
    assert len(history["frank"]) == 2
    candles = await frank.get("/api/v1/klines", symbol=MARKET, interval="1d")
    await frank.http.aclose()
    await grace.http.aclose()

    stack.down()
    assert stack.status() == {"running": False, "healthy": False, "processes": []}
    stack.up()
    assert stack.status()["healthy"]

    # The same tokens: the JWT secret outlives the processes.
    frank = Trader(frank.account, frank.email, frank.token, stack.http(frank.token))
    grace = Trader(grace.account, grace.email, grace.token, stack.http(grace.token))
    try:
        assert {"frank": await _state(frank), "grace": await _state(grace)} == before
        restored = await frank.get("/api/v1/depth", symbol=MARKET, limit=10)
        assert (restored["bids"], restored["asks"]) == (depth["bids"], depth["asks"])
        assert await frank.get("/api/v1/trades", symbol=MARKET, limit=10) == trades
        assert await frank.get("/api/v1/orders", market=MARKET) == history["frank"]
        assert await frank.get("/api/v1/klines", symbol=MARKET, interval="1d") == candles
        assert await sign_in_again(stack, frank)

        # The engine's book came back: Grace's sell takes Frank's resting bids, best first.
        sold = await grace.place("sell", "59000.0", "0.013", MARKET)
        assert sold["status"] == "FILLED", sold
        assert [(f["price"], f["qty"]) for f in sold["fills"]] == [
            ("60000.0", "0.00300"), ("59000.0", "0.01000"),
        ]  # fmt: skip
        assert await frank.get("/api/v1/orders/open", market=MARKET) == []
        state = await frank.get(f"/api/v1/order/{resting_bid['orderId']}")
        assert state["status"] == "FILLED"
        # 0.018 BTC bought: 0.005 and 0.003 at 60,000, 0.01 at 59,000, plus maker fees.
        spent = Decimal("0.008") * 60000 + Decimal("0.01") * 59000
        fees = Decimal("0.005") * 60000 * Decimal("0.002")  # taker, on the first fill
        fees += (Decimal("0.003") * 60000 + Decimal("0.01") * 59000) * Decimal("0.001")
        assert await frank.totals() == {"BTC": Decimal("0.018"), "USDC": 100000 - spent - fees}
        await grace.cancel(resting_ask["orderId"])
        stack.audit()
    finally:
        for trader in (frank, grace):
            await trader.cancel_all()
            await trader.http.aclose()
