"""What Binance's streams carry, in Binance's shapes and field letters, amounts as exact decimal
strings: the market streams' payloads and the user data events.

    <s>@trade        {e: "trade", E, s, t, p, q, T, m, M}
    <s>@aggTrade     {e: "aggTrade", E, s, a, p, q, f, l, T, m, M}  (each fill its own aggregate)
    <s>@depth        {e: "depthUpdate", E, s, U, u, b: [[price, qty]], a}  (qty "0...": gone)
    <s>@depthN       {lastUpdateId, bids, asks}  (the best N levels)
    <s>@kline_I      {e: "kline", E, s, k: {t, T, s, i, f, L, o, c, h, l, v, n, x, q, V, Q, B}}
    <s>@ticker       {e: "24hrTicker", E, s, p, P, w, x, c, Q, b, B, a, A, o, h, l, v, q, O, C,
                      F, L, n}
    <s>@miniTicker   {e: "24hrMiniTicker", E, s, c, o, h, l, v, q}
    <s>@bookTicker   {u, s, b, B, a, A}
    user data        {e: "executionReport", ...}, {e: "outboundAccountPosition", E, u, B}

`U`/`u` (and `lastUpdateId`) are the engine's update ids, the sequence of REST
`/api/v3/depth`'s `lastUpdateId`. `E` is the server's clock when it relayed the event; every
other time comes from the engine. Pure: wire structs in, dicts out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cryptex.binance import (
    DEFAULT_STP,
    client_order_id,
    price_change_percent,
    signed_price,
    symbol_id,
    weighted_price,
)
from cryptex.klines import INTERVALS_MS
from cryptex.ledger import Balance
from cryptex.ledger.records import OrderRecord
from cryptex.markets import AssetSpec, MarketSpec
from cryptex.wire import DepthDiff, OrderStatus, OrderUpdate, PriceLevel, PublicTrade, Side, Ticker
from cryptex_ws.candles import Candle
from cryptex_ws.messages import levels


def trade(market: MarketSpec, public: PublicTrade, event_time: int) -> dict[str, object]:
    return {
        "e": "trade", "E": event_time, "s": symbol_id(market), "t": public.trade_id,
        "p": market.format_price(public.price), "q": market.format_quantity(public.quantity),
        "T": public.ts, "m": public.taker_side is Side.SELL, "M": True,
    }  # fmt: skip


def agg_trade(market: MarketSpec, public: PublicTrade, event_time: int) -> dict[str, object]:
    """The engine reports each fill as a trade: each is its own aggregate."""
    return {
        "e": "aggTrade", "E": event_time, "s": symbol_id(market), "a": public.trade_id,
        "p": market.format_price(public.price), "q": market.format_quantity(public.quantity),
        "f": public.trade_id, "l": public.trade_id, "T": public.ts,
        "m": public.taker_side is Side.SELL, "M": True,
    }  # fmt: skip


def depth_update(market: MarketSpec, diff: DepthDiff, event_time: int) -> dict[str, object]:
    return {
        "e": "depthUpdate", "E": event_time, "s": symbol_id(market),
        "U": diff.first_update_id, "u": diff.last_update_id,
        "b": levels(market, diff.bids), "a": levels(market, diff.asks),
    }  # fmt: skip


def partial_depth(
    market: MarketSpec, last_update_id: int, bids: Sequence[PriceLevel], asks: Sequence[PriceLevel]
) -> dict[str, object]:
    return {
        "lastUpdateId": last_update_id,
        "bids": levels(market, bids),
        "asks": levels(market, asks),
    }


def kline(market: MarketSpec, candle: Candle, closed: bool, event_time: int) -> dict[str, object]:
    price, qty, quote = market.format_price, market.format_quantity, market.quote.format
    symbol = symbol_id(market)
    return {
        "e": "kline", "E": event_time, "s": symbol,
        "k": {
            "t": candle.open_time, "T": candle.open_time + INTERVALS_MS[candle.interval] - 1,
            "s": symbol, "i": candle.interval, "f": candle.first_trade_id,
            "L": candle.last_trade_id, "o": price(candle.open), "c": price(candle.close),
            "h": price(candle.high), "l": price(candle.low), "v": qty(candle.volume),
            "n": candle.trades, "x": closed, "q": quote(candle.quote_volume),
            "V": qty(candle.taker_buy_volume), "Q": quote(candle.taker_buy_quote_volume),
            "B": "0",
        },
    }  # fmt: skip


def _best(market: MarketSpec, level: PriceLevel | None) -> tuple[str, str]:
    if level is None:
        return market.format_price(0), market.format_quantity(0)
    return market.format_price(level.price), market.format_quantity(level.quantity)


def ticker_24hr(
    market: MarketSpec,
    ticker: Ticker,
    best_bid: PriceLevel | None,
    best_ask: PriceLevel | None,
    last_quantity: int,
    event_time: int,
) -> dict[str, object]:
    """The rolling 24-hour ticker, with the book's best levels as they are now. First and last
    trade ids are not kept per window (-1, as REST's ticker/24hr)."""
    price, qty, quote = market.format_price, market.format_quantity, market.quote.format
    bid, bid_qty = _best(market, best_bid)
    ask, ask_qty = _best(market, best_ask)
    return {
        "e": "24hrTicker", "E": event_time, "s": symbol_id(market),
        "p": signed_price(market, ticker.last_price - ticker.open_price),
        "P": price_change_percent(ticker.last_price, ticker.open_price),
        "w": weighted_price(market, ticker.quote_volume, ticker.base_volume),
        "x": price(ticker.open_price), "c": price(ticker.last_price), "Q": qty(last_quantity),
        "b": bid, "B": bid_qty, "a": ask, "A": ask_qty,
        "o": price(ticker.open_price), "h": price(ticker.high_price),
        "l": price(ticker.low_price), "v": qty(ticker.base_volume),
        "q": quote(ticker.quote_volume), "O": ticker.open_time, "C": ticker.close_time,
        "F": -1, "L": -1, "n": ticker.trade_count,
    }  # fmt: skip


def mini_ticker(market: MarketSpec, ticker: Ticker, event_time: int) -> dict[str, object]:
    price = market.format_price
    return {
        "e": "24hrMiniTicker", "E": event_time, "s": symbol_id(market),
        "c": price(ticker.last_price), "o": price(ticker.open_price),
        "h": price(ticker.high_price), "l": price(ticker.low_price),
        "v": market.format_quantity(ticker.base_volume),
        "q": market.quote.format(ticker.quote_volume),
    }  # fmt: skip


def book_ticker(
    market: MarketSpec, update_id: int, best_bid: PriceLevel | None, best_ask: PriceLevel | None
) -> dict[str, object]:
    bid, bid_qty = _best(market, best_bid)
    ask, ask_qty = _best(market, best_ask)
    return {"u": update_id, "s": symbol_id(market), "b": bid, "B": bid_qty, "a": ask, "A": ask_qty}


def _execution_type(update: OrderUpdate) -> str:
    if update.fill is not None:
        return "TRADE"
    if update.status is OrderStatus.PARTIALLY_FILLED:
        return "AMENDMENT"  # an open order's update without a trade, once it has traded
    if update.status is OrderStatus.FILLED:
        return "TRADE"
    return update.status.value  # NEW, CANCELED, REJECTED, EXPIRED


def execution_report(
    market: MarketSpec, update: OrderUpdate, record: OrderRecord, event_time: int
) -> dict[str, object]:
    """An order's change as Binance reports it. `record` gives what an update does not carry
    (client order id, type, time in force, price, quantity, creation time): none of those
    change after placement, so a record read after the update is as good as one read before.
    Fees are always paid in the quote asset."""
    price, qty, quote = market.format_price, market.format_quantity, market.quote.format
    fill = update.fill
    is_market = record.order_type == "MARKET"
    last_quote = market.notional(fill.price, fill.quantity) if fill is not None else 0
    return {
        "e": "executionReport", "E": event_time, "s": symbol_id(market),
        "c": client_order_id(record.client_order_id, record.order_id),
        "S": record.side.value, "o": record.order_type,
        "f": record.time_in_force, "q": qty(record.quantity),
        "p": price(0 if is_market else record.price), "P": price(0), "F": qty(0), "g": -1,
        "C": "", "x": _execution_type(update), "X": update.status.value,
        "r": (record.reason or "NONE") if update.status is OrderStatus.REJECTED else "NONE",
        "i": update.order_id, "l": qty(fill.quantity if fill is not None else 0),
        "z": qty(update.executed), "L": price(fill.price if fill is not None else 0),
        "n": quote(fill.fee if fill is not None else 0),
        "N": market.quote.symbol if fill is not None else None, "T": update.ts,
        "t": fill.trade_id if fill is not None else -1, "I": update.order_id,
        "w": update.status.is_open, "m": fill.maker if fill is not None else False,
        "M": False, "O": record.created, "Z": quote(update.executed_quote), "Y": quote(last_quote),
        "Q": quote(record.quote_quantity), "W": record.created, "V": DEFAULT_STP,
    }  # fmt: skip


def account_position(
    assets: Mapping[str, AssetSpec],
    held: Mapping[str, Balance],
    changed: Iterable[str],
    update_time: int,
    event_time: int,
) -> dict[str, object]:
    """The balances of the assets an account's latest changes touched."""
    rows = []
    for name in sorted(set(changed)):
        spec = assets.get(name)
        if spec is None:
            continue
        balance = held.get(name, Balance(0, 0))
        rows.append(
            {"a": name, "f": spec.format(balance.available), "l": spec.format(balance.locked)}
        )
    return {"e": "outboundAccountPosition", "E": event_time, "u": update_time, "B": rows}
