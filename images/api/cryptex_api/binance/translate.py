"""Cryptex's records and market data in Binance's shapes and words, and Binance's order
parameters as the native order request: the facade's one translation module."""

from __future__ import annotations

from typing import Any, Final

from cryptex import signing
from cryptex.binance import (
    DEFAULT_STP,
    STP_MODES,
    price_change_percent,
    signed_price,
    weighted_price,
)
from cryptex.binance import client_order_id as default_client_order_id
from cryptex.binance import symbol_id as symbol_id  # the routes spell it translate.symbol_id
from cryptex.markets import MarketSpec
from cryptex.wire import DepthSnapshot, OrderType, PublicTrade, Side, Ticker
from cryptex_api.binance.auth import refusal
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.models import FillOut, OrderOut, OrderRequest
from cryptex_api.own_trades import OwnTrade

ORDER_TYPES: Final = [
    "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]  # fmt: skip
# Types that take a timeInForce, and those that execute as market orders (no price).
_TIME_IN_FORCE_TYPES: Final = ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
_PRICELESS_TYPES: Final = ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
# Binance's words for the refusals ccxt tells apart by message (its code is shared).
_MESSAGES: Final = {
    "INSUFFICIENT_FUNDS": "Account has insufficient balance for requested action.",
    "POST_ONLY_WOULD_TAKE": "Order would immediately match and take.",
    "MAX_NUM_ORDERS": "Filter failure: MAX_NUM_ORDERS",
    "LOT_SIZE": "Filter failure: LOT_SIZE",
    "PRICE_FILTER": "Filter failure: PRICE_FILTER",
    "NOTIONAL": "Filter failure: NOTIONAL",
    "STOP_WOULD_TRIGGER": "Order would trigger immediately.",
}


def error(native: ApiError) -> ApiError:
    """A native refusal in Binance's words, where Binance words it differently."""
    message = _MESSAGES.get(native.reason)
    if message is None:
        return native
    # Binance refuses these as a new order rejected; the filters keep their own code
    rejected = native.reason in ("POST_ONLY_WOULD_TAKE", "MAX_NUM_ORDERS")
    code = Code.ORDER_REJECTED if rejected else native.code
    return ApiError(native.status, code, message, native.headers, native.reason)


def _precision(step: str) -> int:
    return len(step.partition(".")[2].rstrip("0")) if "." in step else 0


def exchange_symbol(market: MarketSpec) -> dict[str, Any]:
    tick, lot = str(market.tick_size), str(market.lot_size)
    return {
        "symbol": symbol_id(market),
        "status": "TRADING" if market.trading_state.accepts_orders else "BREAK",
        "baseAsset": market.base.symbol,
        "baseAssetPrecision": market.base.decimals,
        "quoteAsset": market.quote.symbol,
        "quotePrecision": market.quote.decimals,
        "quoteAssetPrecision": market.quote.decimals,
        "baseCommissionPrecision": market.base.decimals,
        "quoteCommissionPrecision": market.quote.decimals,
        "orderTypes": [
            kind
            for kind in ORDER_TYPES
            if market.allows(OrderType("LIMIT" if kind == "LIMIT_MAKER" else kind))
        ],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "0", "tickSize": tick},
            {
                "filterType": "LOT_SIZE",
                "minQty": market.format_quantity(market.min_qty),
                "maxQty": market.format_quantity(market.max_qty),
                "stepSize": lot,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": market.quote.format(market.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "0",
                "applyMaxToMarket": False,
                "avgPriceMins": 0,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": market.max_open_orders},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": DEFAULT_STP,
        "allowedSelfTradePreventionModes": STP_MODES,
        "pricePrecision": _precision(tick),
        "quantityPrecision": _precision(lot),
    }


def order_request(params: dict[str, str], market: MarketSpec) -> OrderRequest:
    """The native request for Binance's order parameters: a MARKET order's `quoteOrderQty` is
    the native order's quote budget (the book spends or receives at most that)."""
    kind = params.get("type", "")
    tif = params.get("timeInForce") or None
    if kind not in ORDER_TYPES:
        raise bad_request(
            Code.ILLEGAL_PARAMETER, f"Invalid orderType: {kind!r}; one of {ORDER_TYPES}"
        )
    if kind in _TIME_IN_FORCE_TYPES and tif is None:
        raise mandatory("timeInForce")
    if kind not in _TIME_IN_FORCE_TYPES and tif is not None:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"timeInForce: not with a {kind} order")
    if kind not in _PRICELESS_TYPES and not params.get("price"):
        raise mandatory("price")
    is_stop = kind.startswith(("STOP_LOSS", "TAKE_PROFIT"))
    if is_stop and not params.get("stopPrice"):
        raise mandatory("stopPrice")
    quantity, quote = params.get("quantity") or None, params.get("quoteOrderQty") or None
    if quantity is None and quote is None:
        raise mandatory("quantity")
    if quantity is not None and quote is not None:
        raise bad_request(Code.ILLEGAL_PARAMETER, "quantity and quoteOrderQty: send one")
    if quote is not None and kind != "MARKET":
        raise bad_request(Code.ILLEGAL_PARAMETER, "quoteOrderQty: only with a MARKET order")
    fields = {
        "side": params.get("side", ""),
        "type": "LIMIT" if kind == "LIMIT_MAKER" else kind,
        "price": params.get("price") if kind not in _PRICELESS_TYPES else None,
        "stopPrice": params.get("stopPrice") if is_stop else None,
        "quantity": quantity,
        "quoteOrderQty": quote,
        "market": market.symbol,
        "timeInForce": tif,
        "postOnly": kind == "LIMIT_MAKER",
        "clientOrderId": params.get("newClientOrderId", ""),
        "selfTradePrevention": params.get("selfTradePreventionMode") or DEFAULT_STP,
    }
    return OrderRequest.model_validate(fields)


def mandatory(name: str) -> ApiError:
    """A missing parameter, in the words a signed request's missing `timestamp` gets."""
    return refusal(signing.mandatory(name))


def order(out: OrderOut, market: MarketSpec, kind: str, order_type: str) -> dict[str, Any]:
    """A new order as Binance answers it: `kind` is ACK, RESULT or FULL (FULL lists its fills;
    it took each, so each paid the taker fee, in the quote asset)."""
    answer: dict[str, Any] = {
        "symbol": symbol_id(market),
        "orderId": out.order_id,
        "orderListId": -1,
        "clientOrderId": client_order_id(out),
        "transactTime": out.updated,
    }
    if kind == "ACK":
        return answer
    answer.update(_order_fields(out, market))
    answer["type"] = order_type
    answer["workingTime"] = out.created
    if kind == "FULL":
        answer["fills"] = [
            {
                "price": fill.price,
                "qty": fill.qty,
                "commission": market.quote.format(market.fee(_notional(market, fill), maker=False)),
                "commissionAsset": market.quote.symbol,
                "tradeId": fill.trade_id,
            }
            for fill in out.fills
        ]
    return answer


def client_order_id(out: OrderOut) -> str:
    return default_client_order_id(out.client_order_id, out.order_id)


def _notional(market: MarketSpec, fill: FillOut) -> int:
    return market.notional(market.price_to_ticks(fill.price), market.quantity_to_lots(fill.qty))


def _order_fields(out: OrderOut, market: MarketSpec) -> dict[str, Any]:
    is_market = out.type in _PRICELESS_TYPES
    return {
        # a market order's record holds its protection price, which Binance does not show
        "price": market.format_price(0) if is_market else out.price,
        "origQty": out.quantity,
        "executedQty": out.executed_qty,
        "origQuoteOrderQty": out.quote_order_qty or market.quote.format(0),
        "cummulativeQuoteQty": out.cumulative_quote_qty,
        "status": "NEW" if out.status == "TRIGGERED" else out.status,  # Binance has no TRIGGERED
        "timeInForce": out.time_in_force,
        "type": out.type,
        "side": out.side,
        "selfTradePreventionMode": DEFAULT_STP,
    }


def order_status(out: OrderOut, market: MarketSpec) -> dict[str, Any]:
    """An order as Binance's GET order, openOrders and allOrders show it."""
    return {
        "symbol": symbol_id(market),
        "orderId": out.order_id,
        "orderListId": -1,
        "clientOrderId": client_order_id(out),
        **_order_fields(out, market),
        "stopPrice": str(out.stop_price) if out.stop_price is not None else market.format_price(0),
        "icebergQty": market.format_quantity(0),
        "time": out.created,
        "updateTime": out.updated,
        # On the book: a stop works only once triggered.
        "isWorking": out.status in ("TRIGGERED", "PARTIALLY_FILLED")
        or (out.status == "NEW" and out.stop_price is None),
        "workingTime": out.created,
    }


def cancelled(out: OrderOut, market: MarketSpec, orig_client_order_id: str) -> dict[str, Any]:
    return {
        "symbol": symbol_id(market),
        "origClientOrderId": orig_client_order_id or client_order_id(out),
        "orderId": out.order_id,
        "orderListId": -1,
        "clientOrderId": client_order_id(out),
        "transactTime": out.updated,
        **_order_fields(out, market),
    }


def depth(market: MarketSpec, snapshot: DepthSnapshot, limit: int) -> dict[str, Any]:
    def side(levels: list[Any]) -> list[list[str]]:
        return [
            [market.format_price(level.price), market.format_quantity(level.quantity)]
            for level in levels[:limit]
        ]

    return {"lastUpdateId": snapshot.last_update_id, "bids": side(snapshot.bids),
            "asks": side(snapshot.asks)}  # fmt: skip


def trade(market: MarketSpec, public: PublicTrade) -> dict[str, Any]:
    return {
        "id": public.trade_id,
        "price": market.format_price(public.price),
        "qty": market.format_quantity(public.quantity),
        "quoteQty": market.quote.format(market.notional(public.price, public.quantity)),
        "time": public.ts,
        "isBuyerMaker": public.taker_side is Side.SELL,
        "isBestMatch": True,
    }


def agg_trade(market: MarketSpec, public: PublicTrade) -> dict[str, Any]:
    """One trade is its own aggregate: the engine reports each fill as a trade."""
    return {
        "a": public.trade_id, "p": market.format_price(public.price),
        "q": market.format_quantity(public.quantity), "f": public.trade_id,
        "l": public.trade_id, "T": public.ts, "m": public.taker_side is Side.SELL, "M": True,
    }  # fmt: skip


def ticker_24hr(
    market: MarketSpec, ticker: Ticker | None, book: DepthSnapshot, now_ms: int
) -> dict[str, Any]:
    price, qty, quote = market.format_price, market.format_quantity, market.quote.format
    best_bid = book.bids[0] if book.bids else None
    best_ask = book.asks[0] if book.asks else None
    out: dict[str, Any] = {
        "symbol": symbol_id(market),
        "bidPrice": price(best_bid.price if best_bid else 0),
        "bidQty": qty(best_bid.quantity if best_bid else 0),
        "askPrice": price(best_ask.price if best_ask else 0),
        "askQty": qty(best_ask.quantity if best_ask else 0),
    }
    if ticker is None:
        zero = price(0)
        out.update({
            "priceChange": zero, "priceChangePercent": "0.000", "weightedAvgPrice": zero,
            "prevClosePrice": zero, "lastPrice": zero, "lastQty": qty(0), "openPrice": zero,
            "highPrice": zero, "lowPrice": zero, "volume": qty(0), "quoteVolume": quote(0),
            "openTime": now_ms - 86_400_000, "closeTime": now_ms, "firstId": -1, "lastId": -1,
            "count": 0,
        })  # fmt: skip
        return out
    out.update({
        "priceChange": signed_price(market, ticker.last_price - ticker.open_price),
        "priceChangePercent": price_change_percent(ticker.last_price, ticker.open_price),
        "weightedAvgPrice": weighted_price(market, ticker.quote_volume, ticker.base_volume),
        "prevClosePrice": price(ticker.open_price),
        "lastPrice": price(ticker.last_price),
        "lastQty": qty(0),
        "openPrice": price(ticker.open_price),
        "highPrice": price(ticker.high_price),
        "lowPrice": price(ticker.low_price),
        "volume": qty(ticker.base_volume),
        "quoteVolume": quote(ticker.quote_volume),
        "openTime": ticker.open_time,
        "closeTime": ticker.close_time,
        "firstId": -1,
        "lastId": -1,
        "count": ticker.trade_count,
    })  # fmt: skip
    return out


def book_ticker(market: MarketSpec, book: DepthSnapshot) -> dict[str, Any]:
    price, qty = market.format_price, market.format_quantity
    bid = book.bids[0] if book.bids else None
    ask = book.asks[0] if book.asks else None
    return {
        "symbol": symbol_id(market),
        "bidPrice": price(bid.price if bid else 0), "bidQty": qty(bid.quantity if bid else 0),
        "askPrice": price(ask.price if ask else 0), "askQty": qty(ask.quantity if ask else 0),
    }  # fmt: skip


def average_price(market: MarketSpec, trades: list[PublicTrade], now_ms: int) -> dict[str, Any]:
    """avgPrice: the volume-weighted price of the last five minutes' trades (whole ticks)."""
    recent = [t for t in trades if t.ts >= now_ms - 300_000]
    quote_units = sum(market.notional(t.price, t.quantity) for t in recent)
    lots = sum(t.quantity for t in recent)
    return {"mins": 5, "price": weighted_price(market, quote_units, lots),
            "closeTime": max((t.ts for t in recent), default=now_ms)}  # fmt: skip


def my_trade(trade: OwnTrade) -> dict[str, Any]:
    """A trade of the account's, from its side of it: its fee is in quote."""
    market = trade.market
    return {
        "symbol": symbol_id(market),
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": market.format_price(trade.price),
        "qty": market.format_quantity(trade.quantity),
        "quoteQty": market.quote.format(trade.notional),
        "commission": market.quote.format(trade.fee),
        "commissionAsset": market.quote.symbol,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }
