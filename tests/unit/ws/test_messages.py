"""Stream payloads: the REST API's field names, every amount an exact decimal string."""

from __future__ import annotations

import json

from cryptex.ledger import Balance
from cryptex.markets import MarketSpec
from cryptex.wire import (
    DepthDiff,
    DepthSnapshot,
    OrderFill,
    OrderStatus,
    OrderUpdate,
    PriceLevel,
    PublicTrade,
    Side,
    Ticker,
)
from cryptex_ws import messages
from cryptex_ws.candles import Candle


def test_a_trade(sol: MarketSpec) -> None:
    trade = PublicTrade(7, 15_025, 1_500, Side.SELL, 1_700_000_000_123)
    assert messages.trade(sol, trade) == {
        "id": 7, "price": "150.25", "qty": "1.500", "quoteQty": "225.375000",
        "time": 1_700_000_000_123, "isBuyerMaker": True,
    }  # fmt: skip
    assert messages.trade(sol, PublicTrade(8, 1, 1, Side.BUY, 0))["isBuyerMaker"] is False


def test_a_depth_update_and_a_snapshot(sol: MarketSpec) -> None:
    diff = DepthDiff(5, 9, [PriceLevel(15_000, 2_000), PriceLevel(14_999, 0)], [])
    assert messages.depth_update(sol, diff, 1_700_000_000_000) == {
        "e": "depthUpdate", "E": 1_700_000_000_000, "U": 5, "u": 9,
        "bids": [("150.00", "2.000"), ("149.99", "0.000")], "asks": [],
    }  # fmt: skip
    snapshot = DepthSnapshot(9, [PriceLevel(15_000, 2_000)], [PriceLevel(15_001, 1)])
    assert messages.depth_snapshot(sol, snapshot) == {
        "e": "depthSnapshot", "lastUpdateId": 9,
        "bids": [("150.00", "2.000")], "asks": [("150.01", "0.001")],
    }  # fmt: skip


def test_the_envelope_is_compact_json_with_strings_for_amounts(sol: MarketSpec) -> None:
    diff = DepthDiff(1, 1, [PriceLevel(15_000, 2_000)], [])
    encoded = messages.envelope("depth@SOL_USDC", messages.depth_update(sol, diff, 3))
    assert encoded == (
        b'{"stream":"depth@SOL_USDC","data":{"e":"depthUpdate","E":3,"U":1,"u":1,'
        b'"bids":[["150.00","2.000"]],"asks":[]}}'
    )


def test_a_ticker_as_rest_has_it(sol: MarketSpec) -> None:
    ticker = Ticker(15_100, 15_000, 15_200, 14_900, 3_000, 450_000_000, 12, 60_000, 61_000)
    assert messages.ticker(sol, ticker) == {
        "symbol": "SOL_USDC", "lastPrice": "151.00", "openPrice": "150.00",
        "highPrice": "152.00", "lowPrice": "149.00", "volume": "3.000",
        "quoteVolume": "450.000000", "count": 12, "openTime": 60_000, "closeTime": 61_000,
    }  # fmt: skip


def test_a_candle(sol: MarketSpec) -> None:
    candle = Candle(
        "5m", 300_000, 15_000, 15_100, 14_950, 15_050, 2_500, 376_000_000, 4, 7, 10, 0, 0
    )
    assert messages.kline(sol, candle) == {
        "interval": "5m", "openTime": 300_000, "closeTime": 599_999, "open": "150.00",
        "high": "151.00", "low": "149.50", "close": "150.50", "volume": "2.500",
        "quoteVolume": "376.000000", "trades": 4,
    }  # fmt: skip


def test_an_order_update_from_a_trade_says_what_the_trade_was(sol: MarketSpec) -> None:
    fill = OrderFill(trade_id=9, price=15_000, quantity=200, fee=30_000, maker=False)
    update = OrderUpdate(1001, 7, OrderStatus.PARTIALLY_FILLED, 500, 75_000_000, 42, Side.BUY, fill)
    assert messages.order(sol, update) == {
        "orderId": 1001, "market": "SOL_USDC", "status": "PARTIALLY_FILLED",
        "executedQty": "0.500", "cumulativeQuoteQty": "75.000000", "updated": 42, "side": "BUY",
        "tradeId": 9, "lastPrice": "150.00", "lastQty": "0.200", "fee": "0.030000",
        "feeAsset": "USDC", "maker": False,
    }  # fmt: skip


def test_an_order_update_without_a_trade_or_from_an_older_engine(sol: MarketSpec) -> None:
    closed = OrderUpdate(1001, 7, OrderStatus.CANCELED, 500, 75_000_000, 43, Side.SELL)
    assert messages.order(sol, closed) == {
        "orderId": 1001, "market": "SOL_USDC", "status": "CANCELED", "executedQty": "0.500",
        "cumulativeQuoteQty": "75.000000", "updated": 43, "side": "SELL",
    }  # fmt: skip
    older = OrderUpdate(1001, 7, OrderStatus.CANCELED, 500, 75_000_000, 43)
    assert "side" not in messages.order(sol, older)


def test_balances_of_listed_assets_by_name(sol: MarketSpec) -> None:
    assets = {"SOL": sol.base, "USDC": sol.quote}
    held = {
        "USDC": Balance(1_500_000, 250),
        "SOL": Balance(100_000_000, 0),
        "DOGE": Balance(5, 0),  # no listed market trades it
    }
    assert json.loads(messages.envelope("balances@me", messages.balances(assets, held))) == {
        "stream": "balances@me",
        "data": [
            {"asset": "SOL", "free": "1.00000000", "locked": "0.00000000"},
            {"asset": "USDC", "free": "1.500000", "locked": "0.000250"},
        ],
    }
