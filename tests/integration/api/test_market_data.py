"""Markets, depth, trades, candles and tickers over REST."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg

from tests.integration.api.conftest import Stack, Trader
from tests.integration.api.test_order_routes import place


def test_markets_list_their_filters(stack: Stack) -> None:
    with stack.client() as http:
        markets = {m["symbol"]: m for m in http.get("/api/v1/markets").json()}
    assert set(markets) == {"BTC_USDC", "ETH_USDC", "SOL_USDC"}
    assert markets["SOL_USDC"] == {
        "symbol": "SOL_USDC", "base": "SOL", "quote": "USDC", "baseDecimals": 8,
        "quoteDecimals": 6, "tickSize": "0.01", "lotSize": "0.001", "minQty": "0.010",
        "maxQty": "100000.000", "minNotional": "5.000000", "makerFeeBps": 10, "takerFeeBps": 20,
        "tradingState": "Active", "maxOpenOrders": 200,
        "orderTypes": [
            "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
        ],
    }  # fmt: skip


def test_depth_trades_and_ticker_follow_a_trade(
    stack: Stack, traders: tuple[Trader, Trader]
) -> None:
    a, b = traders
    place(b, side="sell", price="150", quantity="2")
    place(b, side="sell", price="151.5", quantity="1")
    place(a, side="buy", price="149", quantity="1")
    place(a, side="buy", price="150", quantity="0.5")
    with stack.client() as http:
        depth = http.get("/api/v1/depth", params={"symbol": "sol/usdc", "limit": 5}).json()
        trades = http.get("/api/v1/trades", params={"symbol": "SOL_USDC", "limit": 1}).json()
        tickers = {t["symbol"]: t for t in http.get("/api/v1/tickers").json()}
    assert (depth["bids"], depth["asks"]) == (
        [["149.00", "1.000"]], [["150.00", "1.500"], ["151.50", "1.000"]],
    )  # fmt: skip
    assert depth["lastUpdateId"] > 0
    [trade] = trades
    assert (trade["price"], trade["qty"], trade["quoteQty"], trade["isBuyerMaker"]) == (
        "150.00", "0.500", "75.000000", False,
    )  # fmt: skip
    sol = tickers["SOL_USDC"]
    assert sol["lastPrice"] == "150.00"
    assert sol["count"] >= 1
    assert tickers["ETH_USDC"]["lastPrice"] is None


def test_klines_come_from_the_candles_table(stack: Stack) -> None:
    async def insert() -> None:
        conn = await asyncpg.connect(stack.postgres.url)
        await conn.execute("DELETE FROM candles WHERE market = 'ETH_USDC'")
        await conn.executemany(
            """INSERT INTO candles (market, interval, open_time, open, high, low, close,
                                    base_volume, quote_volume, trade_count,
                                    taker_buy_base_volume, taker_buy_quote_volume)
               VALUES ('ETH_USDC', '1m', to_timestamp($1 / 1000.0), $2, $3, $4, $5, $6, $7, $8,
                       $9, $10)""",
            [(1_700_000_040_000, 2000, 2010, 1995, 2005, 1.5, 3005.25, 3, 1, 2003.5),
             (1_700_000_100_000, 2005, 2006, 2001, 2001, 0.25, Decimal("500.3"), 1, None, None)],
        )  # fmt: skip
        await conn.close()

    asyncio.run(insert())
    with stack.client() as http:
        candles = http.get(
            "/api/v1/klines", params={"symbol": "ETH_USDC", "interval": "1m",
                                      "startTime": 1_700_000_000_000},
        ).json()  # fmt: skip
        later = http.get(
            "/api/v1/klines", params={"symbol": "ETH_USDC", "interval": "1m",
                                      "startTime": 1_700_000_060_000},
        ).json()  # fmt: skip
    assert candles[0] == [
        1_700_000_040_000,
        "2000",
        "2010",
        "1995",
        "2005",
        "1.5",
        1_700_000_099_999,
        "3005.25",
        3,
        "1",
        "2003.5",
    ]
    # taker-buy volumes not known (a candle from before they were kept): null
    assert later == [
        [1_700_000_100_000, "2005", "2006", "2001", "2001", "0.25", 1_700_000_159_999, "500.3", 1,
         None, None],
    ]  # fmt: skip
