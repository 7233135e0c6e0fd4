"""Binance's payloads: its field letters, amounts as exact decimal strings, update ids and
times from the engine, the relay time `E` from the caller."""

from __future__ import annotations

from cryptex.ledger import Balance
from cryptex.ledger.records import OrderRecord
from cryptex.markets import MarketSpec
from cryptex.wire import (
    DepthDiff,
    OrderFill,
    OrderStatus,
    OrderUpdate,
    PriceLevel,
    PublicTrade,
    Side,
    Ticker,
)
from cryptex_ws import binance_messages as binance
from cryptex_ws.candles import Candle

E = 1_800_000_000_999


def test_trades(sol: MarketSpec) -> None:
    trade = PublicTrade(7, 15_025, 1_500, Side.SELL, 1_800_000_000_123)
    assert binance.trade(sol, trade, E) == {
        "e": "trade", "E": E, "s": "SOLUSDC", "t": 7, "p": "150.25", "q": "1.500",
        "T": 1_800_000_000_123, "m": True, "M": True,
    }  # fmt: skip
    assert binance.agg_trade(sol, trade, E) == {
        "e": "aggTrade", "E": E, "s": "SOLUSDC", "a": 7, "p": "150.25", "q": "1.500",
        "f": 7, "l": 7, "T": 1_800_000_000_123, "m": True, "M": True,
    }  # fmt: skip


def test_depth(sol: MarketSpec) -> None:
    diff = DepthDiff(41, 43, [PriceLevel(15_000, 0)], [PriceLevel(15_100, 2_000)])
    assert binance.depth_update(sol, diff, E) == {
        "e": "depthUpdate", "E": E, "s": "SOLUSDC", "U": 41, "u": 43,
        "b": [("150.00", "0.000")], "a": [("151.00", "2.000")],
    }  # fmt: skip
    assert binance.partial_depth(sol, 43, [PriceLevel(14_900, 1)], []) == {
        "lastUpdateId": 43, "bids": [("149.00", "0.001")], "asks": [],
    }  # fmt: skip
    assert binance.book_ticker(sol, 43, PriceLevel(14_900, 1), None) == {
        "u": 43, "s": "SOLUSDC", "b": "149.00", "B": "0.001", "a": "0.00", "A": "0.000",
    }  # fmt: skip


def test_kline(sol: MarketSpec) -> None:
    candle = Candle("1m", 60_000, 15_000, 15_100, 14_950, 15_050, 2_500, 376_000_000, 4, 7, 10,
                    1_000, 150_000_000)  # fmt: skip
    assert binance.kline(sol, candle, True, E)["k"] == {
        "t": 60_000, "T": 119_999, "s": "SOLUSDC", "i": "1m", "f": 7, "L": 10, "o": "150.00",
        "c": "150.50", "h": "151.00", "l": "149.50", "v": "2.500", "n": 4, "x": True,
        "q": "376.000000", "V": "1.000", "Q": "150.000000", "B": "0",
    }  # fmt: skip


def test_tickers(sol: MarketSpec) -> None:
    ticker = Ticker(14_900, 15_000, 15_200, 14_800, 3_000, 450_000_000, 12, 1_000, 2_000)
    full = binance.ticker_24hr(sol, ticker, PriceLevel(14_800, 5), PriceLevel(14_950, 7), 250, E)
    assert full == {
        "e": "24hrTicker", "E": E, "s": "SOLUSDC", "p": "-1.00", "P": "-0.666", "w": "150.00",
        "x": "150.00", "c": "149.00", "Q": "0.250", "b": "148.00", "B": "0.005",
        "a": "149.50", "A": "0.007", "o": "150.00", "h": "152.00", "l": "148.00",
        "v": "3.000", "q": "450.000000", "O": 1_000, "C": 2_000, "F": -1, "L": -1, "n": 12,
    }  # fmt: skip
    assert binance.mini_ticker(sol, ticker, E) == {
        "e": "24hrMiniTicker", "E": E, "s": "SOLUSDC", "c": "149.00", "o": "150.00",
        "h": "152.00", "l": "148.00", "v": "3.000", "q": "450.000000",
    }  # fmt: skip


def _record(**fields: object) -> OrderRecord:
    base: dict[str, object] = {
        "order_id": 5, "market": "SOL_USDC", "account": 3, "side": Side.BUY,
        "order_type": "LIMIT", "time_in_force": "GTC", "price": 12_000, "quantity": 200,
        "lock_asset": "USDC", "locked": 0, "created": 100, "updated": 200,
    }  # fmt: skip
    return OrderRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_execution_reports(sol: MarketSpec) -> None:
    record = _record(client_order_id="bot-1")
    new = binance.execution_report(
        sol, OrderUpdate(5, 3, OrderStatus.NEW, 0, 0, 100, Side.BUY), record, E
    )
    assert {k: new[k] for k in ("c", "S", "o", "f", "q", "p", "x", "X", "i", "z", "t", "w")} == {
        "c": "bot-1", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.200", "p": "120.00",
        "x": "NEW", "X": "NEW", "i": 5, "z": "0.000", "t": -1, "w": True,
    }  # fmt: skip
    assert (new["O"], new["T"], new["N"], new["n"]) == (100, 100, None, "0.000000")
    fill = OrderFill(9, 12_000, 50, 6_000, True)
    traded = binance.execution_report(
        sol, OrderUpdate(5, 3, OrderStatus.PARTIALLY_FILLED, 50, 6_000_000, 150, Side.BUY, fill),
        record, E,
    )  # fmt: skip
    assert {k: traded[k] for k in ("x", "X", "l", "L", "z", "Z", "Y", "n", "N", "t", "m")} == {
        "x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.050", "L": "120.00", "z": "0.050",
        "Z": "6.000000", "Y": "6.000000", "n": "0.006000", "N": "USDC", "t": 9, "m": True,
    }  # fmt: skip
    market = binance.execution_report(
        sol, OrderUpdate(6, 3, OrderStatus.CANCELED, 0, 0, 160, Side.SELL),
        _record(order_id=6, order_type="MARKET", side=Side.SELL), E,
    )  # fmt: skip
    assert (market["c"], market["p"], market["x"], market["w"]) == (
        "cryptex-6", "0.00", "CANCELED", False,
    )  # fmt: skip


def test_account_position(sol: MarketSpec) -> None:
    assets = {"SOL": sol.base, "USDC": sol.quote}
    held = {"USDC": Balance(1_000_000, 250_000)}
    assert binance.account_position(assets, held, ["USDC", "SOL", "DOGE"], 150, E) == {
        "e": "outboundAccountPosition", "E": E, "u": 150, "B": [
            {"a": "SOL", "f": "0.00000000", "l": "0.00000000"},
            {"a": "USDC", "f": "1.000000", "l": "0.250000"},
        ],
    }  # fmt: skip
