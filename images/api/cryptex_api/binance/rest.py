"""Binance's spot REST API under `/api/v3`: public market data and signed trading, over the
native routes' logic (orders go through `cryptex_api.orders`, the one order path). Every answer
reports the request weight spent (`X-MBX-USED-WEIGHT-1M`); refusals are `{"code", "msg"}`
with Binance's codes and words."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, cast

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import PublicTrade, Ticker
from cryptex_api import market_data, orders, own_trades
from cryptex_api import translate as native
from cryptex_api.binance import translate
from cryptex_api.binance.auth import Signed, signed
from cryptex_api.context import ApiContext, context
from cryptex_api.errors import ApiError, Code, bad_request, body
from cryptex_api.models import MAX_TIME_MS, OrderOut

_trade = msgspec.msgpack.Decoder(PublicTrade).decode
_ticker = msgspec.msgpack.Decoder(Ticker).decode
WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
# Binance's weights of each route (the heaviest form where Binance's depends on parameters).
WEIGHTS: Final = {
    "/api/v3/ping": 1, "/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/depth": 5,
    "/api/v3/trades": 25, "/api/v3/aggTrades": 4, "/api/v3/klines": 2,
    "/api/v3/ticker/24hr": 80, "/api/v3/ticker/price": 4, "/api/v3/ticker/bookTicker": 4,
    "/api/v3/avgPrice": 2, "/api/v3/account": 20, "/api/v3/order": 4, "/api/v3/order/test": 1,
    "/api/v3/openOrders": 80, "/api/v3/allOrders": 20, "/api/v3/myTrades": 20,
    "/api/v3/userDataStream": 2,
}  # fmt: skip
RESPONSE_TYPES: Final = ("ACK", "RESULT", "FULL")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class BinanceRoute(APIRoute):
    """Spends the route's weight first, reports the total on every answer, and words native
    refusals as Binance does."""

    def get_route_handler(self) -> Handler:
        inner = super().get_route_handler()
        weight = WEIGHTS[self.path]
        if list(inspect.signature(self.endpoint).parameters) == ["request"]:
            # A signed route reads and checks its parameters itself and answers a Response:
            # FastAPI's dependency solving and answer validation would only cost CPU per order.
            inner = self.endpoint

        async def handle(request: Request) -> Response:
            ctx: ApiContext = request.app.state.context
            client = request.client.host if request.client else "unknown"
            used = ctx.request_weights.spend(client, weight)
            try:
                response = await inner(request)
            except ApiError as error:
                refusal = translate.error(error)
                response = Response(
                    json.dumps(body(refusal.code, refusal.msg)), refusal.status,
                    headers=refusal.headers, media_type="application/json",
                )  # fmt: skip
            response.headers[WEIGHT_HEADER] = str(used)
            return response

        return handle


router = APIRouter(prefix="/api/v3", tags=["binance"], route_class=BinanceRoute)


# First: routes are matched in the order they were added, and this is the one every order takes.
@router.post("/order")
async def new_order(request: Request) -> Response:
    return await _new_order(request, test=False)


def _json(payload: object) -> Response:
    return Response(msgspec.json.encode(payload), media_type="application/json")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _markets(ctx: ApiContext) -> dict[str, MarketSpec]:
    """The listed markets by Binance symbol (SOLUSDC)."""
    return await ctx.markets.by(translate.symbol_id)


async def _market(ctx: ApiContext, symbol: str | None) -> MarketSpec:
    if not symbol:
        raise translate.mandatory("symbol")
    found = (await _markets(ctx)).get(symbol.upper())
    if found is None:
        raise bad_request(Code.BAD_SYMBOL, "Invalid symbol.")
    return found


async def _selected(ctx: ApiContext, symbol: str | None, symbols: str | None) -> list[MarketSpec]:
    """`symbol=X`, `symbols=["X","Y"]`, or every market."""
    if symbol:
        return [await _market(ctx, symbol)]
    if symbols:
        try:
            names = json.loads(symbols)
        except json.JSONDecodeError:
            names = None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad_request(Code.ILLEGAL_PARAMETER, 'symbols: a JSON list, ["SOLUSDC"]')
        return [await _market(ctx, name) for name in names]
    return list((await _markets(ctx)).values())


# ------------------------------------------------------------------ public


@router.get("/ping")
async def ping() -> dict[str, object]:
    return {}


@router.get("/time")
async def server_time() -> dict[str, int]:
    return {"serverTime": now_ms()}


@router.get("/exchangeInfo")
async def exchange_info(
    symbol: str | None = Query(default=None, max_length=32),
    symbols: str | None = Query(default=None, max_length=4_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    return _json({
        "timezone": "UTC",
        "serverTime": now_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": ctx.settings.request_weight_per_minute},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 1,
             "limit": int(ctx.settings.orders_per_second)},
        ],
        "exchangeFilters": [],
        "symbols": [translate.exchange_symbol(m) for m in await _selected(ctx, symbol, symbols)],
    })  # fmt: skip


@router.get("/depth")
async def depth(
    symbol: str = Query(max_length=32),
    limit: int = Query(default=100, ge=1, le=5_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    """`lastUpdateId` is on the sequence of the depth stream's `U`/`u`."""
    market = await _market(ctx, symbol)
    return _json(translate.depth(market, await orders.depth_snapshot(ctx, market.symbol), limit))


async def _recent(ctx: ApiContext, market: MarketSpec, limit: int) -> list[PublicTrade]:
    """The latest trades, oldest first."""
    raw = cast(list[bytes], await ctx.redis.lrange(keys.recent_trades(market.symbol), 0, limit - 1))
    return [_trade(item) for item in reversed(raw)]


@router.get("/trades")
async def trades(
    symbol: str = Query(max_length=32),
    limit: int = Query(default=500, ge=1, le=1_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    market = await _market(ctx, symbol)
    return _json([translate.trade(market, t) for t in await _recent(ctx, market, limit)])


@router.get("/aggTrades")
async def agg_trades(
    symbol: str = Query(max_length=32),
    limit: int = Query(default=500, ge=1, le=1_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    market = await _market(ctx, symbol)
    return _json([translate.agg_trade(market, t) for t in await _recent(ctx, market, limit)])


@router.get("/klines")
async def klines(
    symbol: str = Query(max_length=32),
    interval: str = Query(max_length=4),
    start_time: int | None = Query(default=None, alias="startTime", ge=0, le=MAX_TIME_MS),
    end_time: int | None = Query(default=None, alias="endTime", ge=0, le=MAX_TIME_MS),
    limit: int = Query(default=500, ge=1, le=1_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    """Candles, oldest first, Binance's 12 fields: `[openTime, open, high, low, close, volume,
    closeTime, quoteVolume, trades, takerBuyBaseVolume, takerBuyQuoteVolume, "0"]` (the last
    one Binance's unused field)."""
    market = await _market(ctx, symbol)
    candles = await market_data.klines(market.symbol, interval, start_time, end_time, limit, ctx)
    return _json([[*candle, "0"] for candle in candles])


async def _books_and_tickers(
    ctx: ApiContext, markets: list[MarketSpec]
) -> list[tuple[MarketSpec, Any, Ticker | None]]:
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for market in markets:
            pipe.get(keys.depth(market.symbol))
            pipe.get(keys.ticker(market.symbol))
        raw = await pipe.execute()
    out = []
    for index, market in enumerate(markets):
        book, ticker = raw[2 * index], raw[2 * index + 1]
        out.append((
            market, orders.decode_depth(book) if book else orders.EMPTY_DEPTH,
            _ticker(ticker) if ticker else None,
        ))  # fmt: skip
    return out


def _one_or_list(symbol: str | None, items: list[dict[str, Any]]) -> Response:
    return _json(items[0] if symbol else items)


@router.get("/ticker/24hr")
async def ticker_24hr(
    symbol: str | None = Query(default=None, max_length=32),
    symbols: str | None = Query(default=None, max_length=4_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    now = now_ms()
    found = await _books_and_tickers(ctx, await _selected(ctx, symbol, symbols))
    return _one_or_list(symbol, [translate.ticker_24hr(m, t, b, now) for m, b, t in found])


@router.get("/ticker/price")
async def ticker_price(
    symbol: str | None = Query(default=None, max_length=32),
    symbols: str | None = Query(default=None, max_length=4_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    found = await _books_and_tickers(ctx, await _selected(ctx, symbol, symbols))
    return _one_or_list(symbol, [
        {"symbol": translate.symbol_id(m), "price": m.format_price(t.last_price if t else 0)}
        for m, _, t in found
    ])  # fmt: skip


@router.get("/ticker/bookTicker")
async def book_ticker(
    symbol: str | None = Query(default=None, max_length=32),
    symbols: str | None = Query(default=None, max_length=4_000),
    ctx: ApiContext = Depends(context),
) -> Response:
    found = await _books_and_tickers(ctx, await _selected(ctx, symbol, symbols))
    return _one_or_list(symbol, [translate.book_ticker(m, b) for m, b, _ in found])


@router.get("/avgPrice")
async def avg_price(
    symbol: str = Query(max_length=32), ctx: ApiContext = Depends(context)
) -> Response:
    market = await _market(ctx, symbol)
    recent = await _recent(ctx, market, 1_000)
    return _json(translate.average_price(market, recent, now_ms()))


# ------------------------------------------------------------------ signed


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


@router.get("/account")
async def account(request: Request) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=False)
    assets = await ctx.markets.assets()
    held = await ctx.ledger.balances(call.who.account)
    omit_zero = call.params.get("omitZeroBalances", "false").lower() == "true"
    balances = []
    for asset, spec in sorted(assets.items()):
        balance = held.get(asset)
        free, locked = (balance.available, balance.locked) if balance else (0, 0)
        if omit_zero and not (free or locked):
            continue
        balances.append({"asset": asset, "free": spec.format(free), "locked": spec.format(locked)})
    markets = list((await ctx.markets.all()).values())
    maker = max((m.maker_fee_bps for m in markets), default=0)
    taker = max((m.taker_fee_bps for m in markets), default=0)
    return _json({
        "makerCommission": maker, "takerCommission": taker, "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": _rate(maker), "taker": _rate(taker), "buyer": _rate(0),
                            "seller": _rate(0)},
        "canTrade": "trade" in call.key.permissions, "canWithdraw": False, "canDeposit": False,
        "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
        "updateTime": now_ms(), "accountType": "SPOT", "balances": balances,
        "permissions": ["SPOT"], "uid": call.who.account,
    })  # fmt: skip


def _rate(bps: int) -> str:
    """Basis points as Binance's decimal rate (10 bps is 0.00100000)."""
    return f"{bps // 10_000}.{bps % 10_000:04d}0000"


def _response_type(params: dict[str, str]) -> str:
    kind = params.get("newOrderRespType") or "FULL"
    if kind not in RESPONSE_TYPES:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"newOrderRespType: one of {RESPONSE_TYPES}")
    return kind


async def _new_order(request: Request, *, test: bool) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=True)
    params = call.params
    market = await _market(ctx, params.get("symbol"))
    kind = _response_type(params)
    order = translate.order_request(params, market)
    if test:  # checked as placing it would be, and not placed
        await orders.order_command(order, call.who.account, ctx, placing=False)
        return _json({})
    out = await orders.place_order(order, call.who, ctx)
    if out.reason == "POST_ONLY_WOULD_TAKE":  # Binance refuses a LIMIT_MAKER that would take
        raise bad_request(Code.ORDER_REJECTED, out.reason, "POST_ONLY_WOULD_TAKE")
    return _json(translate.order(out, market, kind, params.get("type", "")))


@router.post("/order/test")
async def test_order(request: Request) -> Response:
    """Checks an order as `POST /order` does, and places nothing."""
    return await _new_order(request, test=True)


def _unknown_order() -> ApiError:
    """Binance's refusal of a cancel that finds no order (ccxt raises OrderNotFound)."""
    return bad_request(Code.CANCEL_REJECTED, "Unknown order sent.")


async def _find(call: Signed, ctx: ApiContext, market: MarketSpec) -> OrderOut:
    """The caller's order named by `orderId` or `origClientOrderId`, in `market`."""
    params = call.params
    order_id = params.get("orderId")
    client_id = params.get("origClientOrderId")
    if order_id:
        if not order_id.isdigit() or len(order_id) > 18:
            raise bad_request(
                Code.ILLEGAL_PARAMETER, "Illegal characters found in parameter 'orderId'"
            )
        found: int | None = int(order_id)
    elif client_id:
        found = await orders.order_id_of_client_id(ctx, call.who.account, client_id)
    else:
        raise translate.mandatory("orderId")
    record = await ctx.ledger.order(found) if found is not None else None
    if record is None or record.account != call.who.account or record.market != market.symbol:
        raise bad_request(Code.NO_SUCH_ORDER, "Order does not exist.")
    return native.order_out(record, market)


@router.get("/order")
async def query_order(request: Request) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=False)
    market = await _market(ctx, call.params.get("symbol"))
    return _json(translate.order_status(await _find(call, ctx, market), market))


@router.delete("/order")
async def cancel_order(request: Request) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=True)
    market = await _market(ctx, call.params.get("symbol"))
    try:
        found = await _find(call, ctx, market)
    except ApiError as error:
        raise _unknown_order() from error
    try:
        out = await orders.cancel_order(found.order_id, call.who, ctx)
    except ApiError as error:
        if error.code in (Code.NO_SUCH_ORDER, Code.CANCEL_REJECTED):
            raise _unknown_order() from error
        raise
    return _json(translate.cancelled(out, market, call.params.get("origClientOrderId", "")))


@router.get("/openOrders")
async def open_orders(request: Request) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=False)
    symbol = call.params.get("symbol")
    market = await _market(ctx, symbol) if symbol else None
    records, markets = await orders.open_records(ctx, call.who, market.symbol if market else None)
    return _json([
        translate.order_status(native.order_out(r, markets[r.market]), markets[r.market])
        for r in sorted(records, key=lambda r: r.order_id)
    ])  # fmt: skip


@router.delete("/openOrders")
async def cancel_open_orders(request: Request) -> Response:
    ctx = _context(request)
    call = await signed(request, ctx, trade=True)
    market = await _market(ctx, call.params.get("symbol"))
    done = await orders.cancel_open_orders(market.symbol, call.who, ctx)
    if not done:  # as Binance answers when nothing is open
        raise _unknown_order()
    return _json([translate.cancelled(out, market, "") for out in done])


def _limit(params: dict[str, str], default: int, most: int) -> int:
    text = params.get("limit") or str(default)
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"limit: from 1 to {most}")
    return int(text)


def _time_param(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if not text:
        return None
    if not text.isdigit() or len(text) > 15:
        raise bad_request(Code.ILLEGAL_PARAMETER, f"Illegal characters found in parameter '{name}'")
    return int(text)


@router.get("/allOrders")
async def all_orders(request: Request) -> Response:
    """The caller's orders of one market, oldest first, as the DB processor has recorded them
    (and the open ones it may not have yet)."""
    ctx = _context(request)
    call = await signed(request, ctx, trade=False)
    market = await _market(ctx, call.params.get("symbol"))
    limit = _limit(call.params, 500, 1_000)
    from_id = _time_param(call.params, "orderId") or 0
    history = await orders.history(ctx, call.who, market.symbol, limit=1_000)
    records, _ = await orders.open_records(ctx, call.who, market.symbol)
    by_id = {out.order_id: out for out in history}
    for record in records:
        by_id.setdefault(record.order_id, native.order_out(record, market))
    chosen = sorted((o for o in by_id.values() if o.order_id >= from_id), key=lambda o: o.order_id)
    return _json([translate.order_status(out, market) for out in chosen[:limit]])


@router.get("/myTrades")
async def my_trades(request: Request) -> Response:
    """The caller's trades of one market, oldest first."""
    ctx = _context(request)
    call = await signed(request, ctx, trade=False)
    market = await _market(ctx, call.params.get("symbol"))
    limit = _limit(call.params, 500, 1_000)
    start, end = _time_param(call.params, "startTime"), _time_param(call.params, "endTime")
    found = await own_trades.own_trades(
        ctx, call.who.account, market.symbol, limit=limit, order=own_trades.Order.BY_TRADE_ID,
        start_ms=start, end_ms=end, from_id=_time_param(call.params, "fromId"),
    )  # fmt: skip
    return _json([translate.my_trade(trade) for trade in found])
