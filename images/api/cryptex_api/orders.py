"""Orders: place (and wait briefly for the engine's answer), look up, cancel, quote, list."""

from __future__ import annotations

import asyncio
import time
from typing import cast

import msgspec
from fastapi import APIRouter, Depends, Query

from cryptex import keys
from cryptex.ledger import CancelResult, OrderRecord, PlaceOutcome, order_record_for
from cryptex.ledger.records import lock_asset
from cryptex.markets import FilterError, MarketSpec
from cryptex.tokens import Principal
from cryptex.wire import (
    DepthSnapshot,
    Fill,
    OrderReply,
    OrderStatus,
    OrderType,
    PlaceOrder,
    RejectReason,
    Side,
    Ticker,
)
from cryptex_api import translate
from cryptex_api.context import ApiContext, context, principal
from cryptex_api.direct_route import DirectRoute
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import AmendRequest, OrderOut, OrderRequest, QuoteOut, QuoteRequest

router = APIRouter(prefix="/api/v1", tags=["orders"], route_class=ExactJsonRoute)
decode_depth = msgspec.msgpack.Decoder(DepthSnapshot).decode
decode_ticker = msgspec.msgpack.Decoder(Ticker).decode
EMPTY_DEPTH = DepthSnapshot(0, [], [])
# Redis calls of one cancel-all in flight together: a few thousand open orders must not take
# every Redis connection of the process from the other requests.
_CANCELS_AT_ONCE = 16


# The engine's refusals of a stop order, answered as the API's own would be.
_STOP_REFUSALS = frozenset({RejectReason.STOP_WOULD_TRIGGER, RejectReason.NO_LAST_PRICE})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def depth_snapshot(ctx: ApiContext, symbol: str) -> DepthSnapshot:
    raw = cast(bytes | None, await ctx.redis.get(keys.depth(symbol)))
    return decode_depth(raw) if raw else EMPTY_DEPTH


async def order_id_of_client_id(ctx: ApiContext, account: int, client_order_id: str) -> int | None:
    """The order an account placed with this client order id (kept as long as the ledger keeps
    client order ids for idempotency)."""
    found = await ctx.redis.hget(keys.client_order(account, client_order_id), "order_id")
    return int(found) if found is not None else None


async def _own_order(ctx: ApiContext, order_id: int, who: Principal) -> OrderRecord:
    record = await ctx.ledger.order(order_id)
    if record is None or record.account != who.account:
        # Someone else's order is as unknown as a missing one: ids reveal nothing.
        raise ApiError(404, Code.NO_SUCH_ORDER, f"order {order_id} does not exist")
    return record


async def _refuse_a_stop_that_would_trigger(
    ctx: ApiContext, market: MarketSpec, kind: OrderType, side: Side, stop: int
) -> None:
    """Refuse a stop whose stop price the last trade price has reached already, by the published
    ticker; the engine judges by its own last price, and refuses a late one the same way."""
    raw = cast(bytes | None, await ctx.redis.get(keys.ticker(market.symbol)))
    if raw is None:  # no trade for a day or ever: the engine knows
        return
    last = decode_ticker(raw).last_price
    rises = kind.triggers_on_rise(side)
    if (stop <= last) if rises else (stop >= last):
        raise _stop_refusal(market, kind, side, RejectReason.STOP_WOULD_TRIGGER, last)


def _stop_refusal(
    market: MarketSpec, kind: OrderType, side: Side, reason: RejectReason, last: int | None
) -> ApiError:
    if reason is RejectReason.NO_LAST_PRICE:
        msg = f"{market.symbol} has not traded yet: a stop order needs a last price to wait for"
    else:
        where = f" (the last price is {market.format_price(last)})" if last is not None else ""
        direction = "at or above" if kind.triggers_on_rise(side) else "at or below"
        msg = (
            f"stopPrice: the last price is {direction} it already, so this {side.value} "
            f"{kind.value} order would trigger immediately{where}"
        )
    return bad_request(Code.ORDER_REJECTED, msg, reason)


def _out(record: OrderRecord, market: MarketSpec, reply: OrderReply | None) -> OrderOut:
    if reply is not None:
        # The reply is fresher than a record read before the engine answered.
        record = msgspec.structs.replace(record, status=reply.status, executed=reply.executed)
    fills: list[Fill] = reply.fills if reply is not None else []
    return translate.order_out(record, market, fills)


def _settled(command: PlaceOrder, market: MarketSpec, reply: OrderReply) -> OrderRecord:
    """The record of a new order as its settlement wrote it, without reading it back: every
    fill of a new order is in its reply, and its events carry the command's timestamp."""
    return msgspec.structs.replace(
        order_record_for(command, market),
        status=reply.status,
        executed=reply.executed,
        executed_quote=sum(market.notional(fill.price, fill.quantity) for fill in reply.fills),
        reason=reply.reason,
    )


def _refusal(outcome: PlaceOutcome, command: PlaceOrder, market: MarketSpec) -> ApiError:
    """The answer to a place the ledger refused (it changed nothing)."""
    if outcome is PlaceOutcome.INSUFFICIENT_FUNDS:
        return bad_request(
            Code.ORDER_REJECTED,
            f"insufficient {lock_asset(market, command.side)} balance",
            RejectReason.INSUFFICIENT_FUNDS,
        )
    if outcome is PlaceOutcome.TOO_MANY_OPEN_ORDERS:
        return bad_request(
            Code.TOO_MANY_OPEN_ORDERS,
            f"too many open orders: {market.symbol} allows {market.max_open_orders} per account",
            "MAX_NUM_ORDERS",
        )
    if outcome is PlaceOutcome.CLIENT_ORDER_ID_REUSED:
        return ApiError(
            409,
            Code.CLIENT_ORDER_ID_REUSED,
            f"clientOrderId {command.client_order_id!r} was used for another order with other "
            "terms: choose a new one",
        )
    return bad_request(
        Code.BALANCE_LIMIT,
        f"the lock would take the {lock_asset(market, command.side)} balance past the largest "
        "amount the ledger holds",
    )


async def order_command(
    request: OrderRequest, account: int, ctx: ApiContext, *, placing: bool
) -> tuple[MarketSpec, PlaceOrder]:
    """The market and the command of an order request, checked against the market's state and
    filters (a market order against the depth now): everything placing it does but the place.
    Only a command `placing` gets an order id (and this process's reply channel)."""
    market = await ctx.markets.get(request.market)
    if not market.trading_state.accepts_orders:
        raise bad_request(
            Code.MARKET_NOT_OPEN, f"{market.symbol} is {market.trading_state.value}: no orders"
        )
    kind = translate.order_type_of(request)
    if not market.allows(kind):
        raise bad_request(
            Code.ORDER_REJECTED,
            f"{market.symbol} does not take {kind.value} orders; it takes "
            f"{', '.join(t.value for t in market.order_types)}",
            RejectReason.ORDER_TYPE_NOT_ALLOWED,
        )
    side = translate.side_of(request.side)
    best = protection = 0
    is_market = translate.is_market_order(request)
    if kind.is_stop:
        stop = translate.stop_ticks(market, request)
        await _refuse_a_stop_that_would_trigger(ctx, market, kind, side, stop)
        if is_market:  # it will meet the book at about its stop price
            protection = translate.protection_price(side, stop, ctx.settings.market_order_band_bps)
    elif is_market:
        best = translate.best_opposite_price(side, await depth_snapshot(ctx, market.symbol))
        protection = translate.protection_price(side, best, ctx.settings.market_order_band_bps)
    order_id = await ctx.order_ids.next() if placing else 0
    command = translate.place_order(
        request, market, order_id=order_id, account=account, ts=now_ms(),
        reply_to=ctx.replies.instance if placing else "", protection_price=protection, best=best,
    )  # fmt: skip
    try:
        # A market order is judged where it fills first, a stop-market one at its stop price.
        market.check_order(
            best or command.price or command.stop_price, command.quantity,
            lock_ticks=protection or None,
        )  # fmt: skip
    except FilterError as error:
        raise bad_request(Code.FILTER_FAILURE, str(error), error.filter) from None
    return market, command


async def place_order(
    request: OrderRequest, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> OrderOut:
    """Place an order. Answers with the engine's outcome (`fills` included), or, if the engine
    is slower than the reply timeout, with the order's state then: it exists either way."""
    ctx.order_limiter.take(who.account)
    market, command = await order_command(request, who.account, ctx, placing=True)
    order_id = command.order_id
    future = ctx.replies.expect(order_id)
    try:
        result = await ctx.ledger.place(market, command)
    except BaseException:  # Redis unreachable, or the request went away: nothing will wait
        ctx.replies.forget(order_id, future)
        raise
    if result.outcome is not PlaceOutcome.PLACED:
        ctx.replies.forget(order_id, future)
    if result.outcome is PlaceOutcome.DUPLICATE:
        return _out(await _own_order(ctx, result.order_id, who), market, None)
    if result.outcome is not PlaceOutcome.PLACED:
        raise _refusal(result.outcome, command, market)
    reply = await ctx.replies.wait(order_id, future, ctx.settings.reply_timeout_ms / 1000)
    if reply is None:  # the engine is late: the order as the ledger holds it now
        record = await ctx.ledger.order(order_id)
        assert record is not None  # the place script wrote it
        return _out(record, market, None)
    assert result.command is not None  # placed
    if reply.status is OrderStatus.REJECTED and reply.reason in _STOP_REFUSALS:
        kind, side = translate.order_type_of(request), translate.side_of(request.side)
        raise _stop_refusal(market, kind, side, RejectReason(reply.reason), None)
    return translate.order_out(_settled(result.command, market, reply), market, reply.fills)


# The one route every order takes: served by DirectRoute, which skips FastAPI's per-request
# machinery (this route's own API CPU per order was about half framework).
router.add_api_route(
    "/order", place_order, methods=["POST"], response_model=OrderOut,
    responses={400: {"description": "bad input, a market filter, or insufficient balance"}},
    route_class_override=DirectRoute,
)  # fmt: skip


@router.get("/order/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: int, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> OrderOut:
    record = await _own_order(ctx, order_id, who)
    return _out(record, await ctx.markets.get(record.market), None)


async def _request_cancel(
    ctx: ApiContext, order_id: int, who: Principal
) -> tuple[CancelResult, asyncio.Future[OrderReply] | None]:
    """Queue the order's cancel for its engine; the future its answer will come on, if queued."""
    future = ctx.replies.expect(order_id)
    try:
        result = await ctx.ledger.request_cancel(
            order_id, who.account, now_ms(), ctx.replies.instance
        )
    except BaseException:  # Redis unreachable, or the request went away: nothing will wait
        ctx.replies.forget(order_id, future)
        raise
    if not result.accepted:
        ctx.replies.forget(order_id, future)
        return result, None
    return result, future


async def _cancel_reply(
    ctx: ApiContext, order_id: int, future: asyncio.Future[OrderReply]
) -> OrderReply | None:
    """The engine's answer to a queued cancel, if it removed the order within the timeout."""
    reply = await ctx.replies.wait(order_id, future, ctx.settings.reply_timeout_ms / 1000)
    if reply is not None and reply.reason:
        # The engine found it done already (filled in the meantime): its record says what it is.
        return None
    return reply


async def open_records(
    ctx: ApiContext, who: Principal, market: str | None
) -> tuple[list[OrderRecord], dict[str, MarketSpec]]:
    """The caller's open orders (of one market, if named) in listed markets, and those markets."""
    symbol = (await ctx.markets.get(market)).symbol if market else None
    markets = await ctx.markets.all()
    records = [
        record for record in await ctx.ledger.open_orders(who.account)
        if (symbol is None or record.market == symbol) and record.market in markets
    ]  # fmt: skip
    return records, markets


@router.delete("/order/{order_id}", response_model=OrderOut)
async def cancel_order(
    order_id: int, who: Principal = Depends(principal), ctx: ApiContext = Depends(context)
) -> OrderOut:
    """Cancel an open order; answers with its state once the engine has removed it."""
    record = await _own_order(ctx, order_id, who)
    market = await ctx.markets.get(record.market)
    result, future = await _request_cancel(ctx, order_id, who)
    if future is None:
        if result.reason is RejectReason.ORDER_NOT_OPEN:
            raise bad_request(Code.CANCEL_REJECTED, f"order {order_id} is {record.status.value}")
        raise ApiError(404, Code.NO_SUCH_ORDER, f"order {order_id} does not exist")
    reply = await _cancel_reply(ctx, order_id, future)
    record = await _own_order(ctx, order_id, who)
    return _out(record, market, reply)


@router.post("/order/{order_id}/amend", response_model=OrderOut)
async def amend_order(
    order_id: int,
    request: AmendRequest,
    who: Principal = Depends(principal),
    ctx: ApiContext = Depends(context),
) -> OrderOut:
    """Lower an open order's quantity to `newQty` (its new whole quantity, what it executed
    included), keeping its place in the queue (Binance's order/amend/keepPriority); the lock
    of the lots taken off is released. Answers with the order once the engine has amended it."""
    record = await _own_order(ctx, order_id, who)
    market = await ctx.markets.get(record.market)
    lots = translate.quantity_lots(market, request.new_qty)
    if not record.status.is_open:
        raise bad_request(Code.AMEND_REJECTED, f"order {order_id} is {record.status.value}")
    if lots >= record.quantity:
        raise bad_request(
            Code.AMEND_REJECTED,
            f"newQty: must be below the order's quantity {market.format_quantity(record.quantity)}",
        )
    if lots <= record.executed:
        raise bad_request(
            Code.AMEND_REJECTED,
            f"newQty: must be above its executed quantity "
            f"{market.format_quantity(record.executed)} (cancel the order instead)",
        )
    future = ctx.replies.expect(order_id)
    try:
        result = await ctx.ledger.request_amend(
            order_id, who.account, lots, now_ms(), ctx.replies.instance
        )
    except BaseException:  # Redis unreachable, or the request went away: nothing will wait
        ctx.replies.forget(order_id, future)
        raise
    if not result.accepted:
        ctx.replies.forget(order_id, future)
        if result.reason is RejectReason.ORDER_NOT_OPEN:
            raise bad_request(Code.AMEND_REJECTED, f"order {order_id} is no longer open")
        raise ApiError(404, Code.NO_SUCH_ORDER, f"order {order_id} does not exist")
    reply = await ctx.replies.wait(order_id, future, ctx.settings.reply_timeout_ms / 1000)
    if reply is not None and reply.reason:
        # Filled or executed past newQty since it was read: the engine's word is the last.
        raise bad_request(Code.AMEND_REJECTED, f"order {order_id} was not amended ({reply.reason})")
    return _out(await _own_order(ctx, order_id, who), market, reply)


@router.delete("/orders/open", response_model=list[OrderOut])
async def cancel_open_orders(
    market: str | None = Query(default=None, max_length=32),
    who: Principal = Depends(principal),
    ctx: ApiContext = Depends(context),
) -> list[OrderOut]:
    """Cancel every open order of yours, or of one market. Answers with each one's state once
    its engine has removed it; one that filled meanwhile shows as it ended, and one whose
    engine is slower than the reply timeout shows as it is then (its cancel is queued)."""
    records, markets = await open_records(ctx, who, market)
    at_once = asyncio.Semaphore(_CANCELS_AT_ONCE)

    async def cancelled(record: OrderRecord) -> OrderOut:
        async with at_once:  # Redis calls are bounded; the waits for answers all run together
            _, future = await _request_cancel(ctx, record.order_id, who)
        reply = await _cancel_reply(ctx, record.order_id, future) if future else None
        async with at_once:
            now = await ctx.ledger.order(record.order_id)
        return _out(now or record, markets[record.market], reply)

    return list(await asyncio.gather(*(cancelled(record) for record in records)))


@router.post("/order/quote", response_model=QuoteOut)
async def quote(request: QuoteRequest, ctx: ApiContext = Depends(context)) -> QuoteOut:
    """What a market order of this size would cost now, from the published depth (before
    fees): average price, total, and whether the book holds enough."""
    market = await ctx.markets.get(request.market)
    lots = translate.quantity_lots(market, request.quantity)
    side = translate.side_of(request.side)
    depth = await depth_snapshot(ctx, market.symbol)
    levels = depth.asks if side is Side.BUY else depth.bids
    remaining, filled, total = lots, 0, 0
    for level in levels:
        take = min(remaining, level.quantity)
        filled += take
        total += market.notional(level.price, take)
        remaining -= take
        if not remaining:
            break
    average = translate.average_price(market, total, filled) if filled else None
    return QuoteOut(
        market=market.symbol, side=side.value, quantity=market.format_quantity(lots),
        fillable_qty=market.format_quantity(filled), average_price=average,
        total=market.quote.format(total), fully_fillable=filled == lots,
        last_update_id=depth.last_update_id,
    )  # fmt: skip


@router.get("/orders/open", response_model=list[OrderOut])
async def open_orders(
    market: str | None = Query(default=None, max_length=32),
    who: Principal = Depends(principal),
    ctx: ApiContext = Depends(context),
) -> list[OrderOut]:
    records, markets = await open_records(ctx, who, market)
    return [translate.order_out(record, markets[record.market]) for record in records]


@router.get("/orders", response_model=list[OrderOut])
async def order_history(
    market: str | None = Query(default=None, max_length=32),
    limit: int = Query(default=100, ge=1, le=1_000),
    who: Principal = Depends(principal),
    ctx: ApiContext = Depends(context),
) -> list[OrderOut]:
    """Orders newest first, as the DB processor has recorded them."""
    symbol = (await ctx.markets.get(market)).symbol if market else None
    return await history(ctx, who, symbol, limit)


async def history(
    ctx: ApiContext, who: Principal, symbol: str | None, limit: int
) -> list[OrderOut]:
    """The account's recorded orders (of one market, if named), newest first."""
    rows = await ctx.db.fetch(
        """SELECT order_id, market, account, side, order_type, time_in_force, price, quantity,
                  executed, executed_quote, status, reason, client_order_id,
                  (extract(epoch FROM created_at) * 1000)::bigint AS created,
                  (extract(epoch FROM updated_at) * 1000)::bigint AS updated
             FROM orders
            WHERE account = $1 AND ($2::text IS NULL OR market = $2)
            ORDER BY created_at DESC, order_id DESC
            LIMIT $3""",
        who.account, symbol, limit,
    )  # fmt: skip
    markets = await ctx.markets.all()
    return [translate.history_out(dict(row), markets[row["market"]]) for row in rows
            if row["market"] in markets]  # fmt: skip
