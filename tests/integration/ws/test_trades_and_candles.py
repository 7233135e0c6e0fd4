"""Trades arrive in order, with consecutive ids and nothing missing, on `trades@` and its alias
`trade@`; the ticker and the current candles follow them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cryptex.wire import Side, TradeExecuted
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.ws.flow import fund, random_flow
from tests.integration.ws.harness import Client, WsProcess

TRADES = "trades@SOL_USDC"


async def test_trade_ids_are_consecutive_and_complete(
    engine: EngineProcess,
    exchange: Exchange,
    ws: WsProcess,
    open_client: Callable[[], Awaitable[Client]],
) -> None:
    fund(exchange)
    canonical, alias = await open_client(), await open_client()
    await canonical.subscribe(TRADES)
    await alias.subscribe("trade@sol_usdc")
    assert await alias.request("LIST_SUBSCRIPTIONS") == {"result": [TRADES], "id": 2}
    await asyncio.to_thread(random_flow, exchange, 300, seed=5)
    await asyncio.to_thread(exchange.wait_settled)
    executed = [e for e in exchange.events() if isinstance(e, TradeExecuted)]
    assert len(executed) > 50
    for client in (canonical, alias):
        await client.until(lambda c=client: len(c.data(TRADES)) >= len(executed))
        trades = client.data(TRADES)
        assert [t["id"] for t in trades] == list(range(1, len(executed) + 1))
        first, event = trades[0], executed[0]
        assert first == {
            "id": 1,
            "price": exchange.market.format_price(event.price),
            "qty": exchange.market.format_quantity(event.quantity),
            "quoteQty": exchange.market.quote.format(
                exchange.market.notional(event.price, event.quantity)
            ),
            "time": event.ts,
            "isBuyerMaker": event.taker_side is Side.SELL,
        }


async def test_ticker_and_candles_follow_the_trades(
    engine: EngineProcess,
    exchange: Exchange,
    ws: WsProcess,
    open_client: Callable[[], Awaitable[Client]],
) -> None:
    fund(exchange)
    client = await open_client()
    await client.subscribe("ticker@SOL_USDC", "kline_1m@SOL_USDC", "kline_1d@SOL_USDC")
    exchange.placed(1, Side.SELL, "150.00", "1")
    exchange.placed(2, Side.SELL, "151.00", "1")
    exchange.placed(3, Side.BUY, "150.00", "0.4")  # trades at 150.00
    exchange.wait_settled()
    exchange.placed(3, Side.BUY, "151.00", "1")  # 0.6 at 150.00, then 0.4 at 151.00
    exchange.wait_settled()

    await client.until(lambda: len(client.data("ticker@SOL_USDC")) == 2)
    ticker = client.data("ticker@SOL_USDC")[-1]
    assert (ticker["lastPrice"], ticker["highPrice"], ticker["lowPrice"]) == (
        "151.00", "151.00", "150.00",
    )  # fmt: skip
    assert (ticker["volume"], ticker["count"]) == ("1.400", 3)
    await client.until(lambda: len(client.data("kline_1m@SOL_USDC")) == 2)
    # One message per candle per engine batch, in its state after the batch.
    first, last = client.data("kline_1m@SOL_USDC")
    assert (first["volume"], first["trades"]) == ("0.400", 1)
    minute = exchange.ts - exchange.ts % 60_000
    assert last == {
        "interval": "1m",
        "openTime": minute,
        "closeTime": minute + 59_999,
        "open": "150.00",
        "high": "151.00",
        "low": "150.00",
        "close": "151.00",
        "volume": "1.400",
        "quoteVolume": "210.400000",  # 0.4 x 150 + 0.6 x 150 + 0.4 x 151
        "trades": 3,
    }
    await client.until(lambda: len(client.data("kline_1d@SOL_USDC")) == 2)
    assert (
        client.data("kline_1d@SOL_USDC")[-1]["openTime"] == exchange.ts - exchange.ts % 86_400_000
    )
