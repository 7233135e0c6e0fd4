"""What each stream carries: `{"stream": <name>, "data": <payload>}`, amounts as exact decimal
strings (never JSON numbers), field names as the REST API spells them.

    trades@M     {id, price, qty, quoteQty, time, isBuyerMaker}, one message per trade
    depth@M      {e: "depthUpdate", E, U, u, bids: [[price, qty], ...], asks}  (qty zero: gone)
                 {e: "depthSnapshot", lastUpdateId, bids, asks}  once, after each SUBSCRIBE
    ticker@M     the REST ticker: {symbol, lastPrice, openPrice, highPrice, lowPrice, volume,
                 quoteVolume, count, openTime, closeTime}
    kline_I@M    {interval, openTime, closeTime, open, high, low, close, volume, quoteVolume,
                 trades}
    orders@me    {orderId, market, status, executedQty, cumulativeQuoteQty, updated, side}, and
                 for a trade {tradeId, lastPrice, lastQty, fee, feeAsset, maker}
    balances@me  [{asset, free, locked}, ...]

`E` is the server's clock (epoch ms) when it relayed the message; every other time comes from
the engine. Pure: wire structs in, JSON bytes out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from cryptex.klines import INTERVALS_MS
from cryptex.ledger import Balance
from cryptex.markets import AssetSpec, MarketSpec
from cryptex.wire import (
    DepthDiff,
    DepthSnapshot,
    OrderUpdate,
    PriceLevel,
    PublicTrade,
    Side,
    Ticker,
)
from cryptex_ws.candles import Candle

encode = msgspec.json.Encoder().encode


def envelope(stream: str, data: object) -> bytes:
    return encode({"stream": stream, "data": data})


def levels(market: MarketSpec, side: Sequence[PriceLevel]) -> list[tuple[str, str]]:
    price, quantity = market.format_price, market.format_quantity
    return [(price(level.price), quantity(level.quantity)) for level in side]


def trade(market: MarketSpec, trade: PublicTrade) -> dict[str, object]:
    return {
        "id": trade.trade_id,
        "price": market.format_price(trade.price),
        "qty": market.format_quantity(trade.quantity),
        "quoteQty": market.quote.format(market.notional(trade.price, trade.quantity)),
        "time": trade.ts,
        "isBuyerMaker": trade.taker_side is Side.SELL,
    }


def depth_update(market: MarketSpec, diff: DepthDiff, event_time: int) -> dict[str, object]:
    return {
        "e": "depthUpdate",
        "E": event_time,
        "U": diff.first_update_id,
        "u": diff.last_update_id,
        "bids": levels(market, diff.bids),
        "asks": levels(market, diff.asks),
    }


def depth_snapshot(market: MarketSpec, snapshot: DepthSnapshot) -> dict[str, object]:
    return {
        "e": "depthSnapshot",
        "lastUpdateId": snapshot.last_update_id,
        "bids": levels(market, snapshot.bids),
        "asks": levels(market, snapshot.asks),
    }


def ticker(market: MarketSpec, ticker: Ticker) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "lastPrice": market.format_price(ticker.last_price),
        "openPrice": market.format_price(ticker.open_price),
        "highPrice": market.format_price(ticker.high_price),
        "lowPrice": market.format_price(ticker.low_price),
        "volume": market.format_quantity(ticker.base_volume),
        "quoteVolume": market.quote.format(ticker.quote_volume),
        "count": ticker.trade_count,
        "openTime": ticker.open_time,
        "closeTime": ticker.close_time,
    }


def kline(market: MarketSpec, candle: Candle) -> dict[str, object]:
    return {
        "interval": candle.interval,
        "openTime": candle.open_time,
        "closeTime": candle.open_time + INTERVALS_MS[candle.interval] - 1,
        "open": market.format_price(candle.open),
        "high": market.format_price(candle.high),
        "low": market.format_price(candle.low),
        "close": market.format_price(candle.close),
        "volume": market.format_quantity(candle.volume),
        "quoteVolume": market.quote.format(candle.quote_volume),
        "trades": candle.trades,
    }


def order(market: MarketSpec, update: OrderUpdate) -> dict[str, object]:
    message: dict[str, object] = {
        "orderId": update.order_id,
        "market": market.symbol,
        "status": update.status.value,
        "executedQty": market.format_quantity(update.executed),
        "cumulativeQuoteQty": market.quote.format(update.executed_quote),
        "updated": update.ts,
    }
    if update.side is not None:
        message["side"] = update.side.value
    fill = update.fill
    if fill is not None:
        message["tradeId"] = fill.trade_id
        message["lastPrice"] = market.format_price(fill.price)
        message["lastQty"] = market.format_quantity(fill.quantity)
        message["fee"] = market.quote.format(fill.fee)
        message["feeAsset"] = market.quote.symbol
        message["maker"] = fill.maker
    return message


def balances(assets: Mapping[str, AssetSpec], held: Mapping[str, Balance]) -> list[dict[str, str]]:
    """Every asset the account holds that a listed market trades, by name."""
    return [
        {
            "asset": name,
            "free": assets[name].format(balance.available),
            "locked": assets[name].format(balance.locked),
        }
        for name, balance in sorted(held.items())
        if name in assets
    ]
