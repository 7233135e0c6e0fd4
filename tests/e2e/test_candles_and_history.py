"""What the DB processor writes reaches the users: candles through `GET /api/v1/klines`, the
order history through `GET /api/v1/orders`."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from tests.e2e.harness import StackRun, Trader, sign_up

MARKET = "ETH_USDC"  # shared with test_cancel.py, which never trades


async def test_trades_become_candles_and_history(stack: StackRun) -> None:
    dave = await sign_up(stack, {"USDC": "20000"})
    erin = await sign_up(stack, {"ETH": "10"})
    now = int(time.time() * 1000)
    since = now - now % 60_000  # the 1m candle this test's trades open, or an earlier one
    try:
        await erin.place("sell", "3000.00", "0.1", MARKET)
        await erin.place("sell", "3001.50", "0.2", MARKET)
        await erin.place("sell", "2999.00", "0.3", MARKET)  # best ask: traded first
        taken = await dave.place("buy", "3001.50", "0.6", MARKET, timeInForce="IOC")
        assert taken["status"] == "FILLED", taken
        assert [(f["price"], f["qty"]) for f in taken["fills"]] == [
            ("2999.00", "0.3000"), ("3000.00", "0.1000"), ("3001.50", "0.2000"),
        ]  # fmt: skip
        trade_ids = {f["tradeId"] for f in taken["fills"]}

        # Candles of this test's trades only: its own time range, summed over the 1m buckets it
        # may straddle. Written by the DB processor, a moment after the engine settled them.
        candles = await _until(
            lambda: dave.get("/api/v1/klines", symbol=MARKET, interval="1m", startTime=since),
            lambda rows: sum(row[8] for row in rows) >= 3,
        )
        assert sum(row[8] for row in candles) == 3  # trades
        assert candles[0][1] == "2999.00"  # open: the first trade
        assert candles[-1][4] == "3001.50"  # close: the last one
        assert max(Decimal(row[2]) for row in candles) == Decimal("3001.50")
        assert min(Decimal(row[3]) for row in candles) == Decimal("2999.00")
        assert sum(Decimal(row[5]) for row in candles) == Decimal("0.6")  # ETH
        assert sum(Decimal(row[7]) for row in candles) == Decimal("1800.00")  # USDC

        history = await _until(
            lambda: dave.get("/api/v1/orders", market=MARKET, limit=10),
            lambda rows: any(r["orderId"] == taken["orderId"] for r in rows),
        )
        [mine] = [r for r in history if r["orderId"] == taken["orderId"]]
        assert (mine["status"], mine["executedQty"]) == ("FILLED", "0.6000")
        assert mine["cumulativeQuoteQty"] == "1800.000000"
        erins = await _until(
            lambda: erin.get("/api/v1/orders", market=MARKET, limit=10),
            lambda rows: sum(r["status"] == "FILLED" for r in rows) == 3,
        )
        assert sorted(r["price"] for r in erins) == ["2999.00", "3000.00", "3001.50"]
        recent = await dave.get("/api/v1/trades", symbol=MARKET, limit=10)
        assert trade_ids <= {t["id"] for t in recent}
        stack.audit()
    finally:
        await _close(dave, erin)


async def _until(fetch: Any, ready: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        rows = await fetch()
        if ready(rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def _close(*traders: Trader) -> None:
    for trader in traders:
        await trader.cancel_all()
        await trader.http.aclose()
