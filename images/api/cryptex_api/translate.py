"""REST models <-> wire structs and ledger records: the one place that maps between them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from cryptex.ledger import OrderRecord
from cryptex.markets import MarketSpec
from cryptex.money import MAX_UNITS, MoneyError, format_units
from cryptex.wire import (
    DepthSnapshot,
    Fill,
    OrderType,
    PlaceOrder,
    PublicTrade,
    SelfTradePrevention,
    Side,
    Ticker,
    TimeInForce,
)
from cryptex_api.errors import Code, bad_request
from cryptex_api.models import (
    DepthOut,
    FillOut,
    MarketOut,
    MyTradeOut,
    OrderOut,
    OrderRequest,
    TickerOut,
    TradeOut,
)

if TYPE_CHECKING:
    from cryptex_api.own_trades import OwnTrade


def side_of(text: str) -> Side:
    return Side(text.upper())


def quantity_lots(market: MarketSpec, quantity: str) -> int:
    try:
        return market.quantity_to_lots(quantity)
    except MoneyError as error:
        raise bad_request(Code.FILTER_FAILURE, str(error), "LOT_SIZE") from None


def order_type_of(request: OrderRequest) -> OrderType:
    return OrderType(request.type.upper())


def is_market_order(request: OrderRequest) -> bool:
    """Whether it executes as a market order (a market order, or a stop-market order once
    triggered), refusing fields its type cannot have."""
    kind = order_type_of(request)
    if kind.is_stop:
        _check_stop_fields(request, kind)
        return kind.executes_as_market
    if request.stop_price is not None:
        raise bad_request(
            Code.ILLEGAL_PARAMETER,
            f"stopPrice: a {kind.value} order takes none (only STOP_LOSS, STOP_LOSS_LIMIT, "
            "TAKE_PROFIT and TAKE_PROFIT_LIMIT do)",
        )
    if kind is OrderType.MARKET:
        if request.price is not None:
            raise bad_request(Code.ILLEGAL_PARAMETER, "price: a market order takes no price")
        if request.post_only:
            raise bad_request(
                Code.ILLEGAL_PARAMETER, "postOnly: a market order cannot be post-only"
            )
        if request.quantity is None and request.quote_order_qty is None:
            raise bad_request(
                Code.MANDATORY_PARAMETER, "quantity: is required (or quoteOrderQty instead)"
            )
        if request.quantity is not None and request.quote_order_qty is not None:
            raise bad_request(
                Code.ILLEGAL_PARAMETER, "quoteOrderQty: give either quantity or quoteOrderQty"
            )
        if request.quote_order_qty is not None and request.time_in_force == "FOK":
            raise bad_request(
                Code.ILLEGAL_PARAMETER, "timeInForce: a quoteOrderQty order cannot be FOK"
            )
        return True
    if request.price is None:
        raise bad_request(Code.MANDATORY_PARAMETER, "price: is required for a limit order")
    if request.quote_order_qty is not None:
        raise bad_request(
            Code.ILLEGAL_PARAMETER, "quoteOrderQty: only a market order takes a quote amount"
        )
    if request.quantity is None:
        raise bad_request(Code.MANDATORY_PARAMETER, "quantity: is required")
    return False


def _check_stop_fields(request: OrderRequest, kind: OrderType) -> None:
    if request.stop_price is None:
        raise bad_request(
            Code.MANDATORY_PARAMETER, f"stopPrice: is required for a {kind.value} order"
        )
    if request.quote_order_qty is not None:
        raise bad_request(
            Code.ILLEGAL_PARAMETER,
            "quoteOrderQty: a stop order takes a quantity, not a quote amount",
        )
    if request.quantity is None:
        raise bad_request(Code.MANDATORY_PARAMETER, "quantity: is required")
    if request.post_only:
        raise bad_request(Code.ILLEGAL_PARAMETER, "postOnly: a stop order cannot be post-only")
    if kind.executes_as_market and request.price is not None:
        raise bad_request(
            Code.ILLEGAL_PARAMETER,
            f"price: a {kind.value} order executes as a market order and takes no price "
            f"({kind.value}_LIMIT takes one)",
        )
    if not kind.executes_as_market and request.price is None:
        raise bad_request(Code.MANDATORY_PARAMETER, f"price: is required for a {kind.value} order")


def stop_ticks(market: MarketSpec, request: OrderRequest) -> int:
    """A stop order's stop price in ticks (0 for other orders), refused off the tick."""
    if request.stop_price is None:
        return 0
    try:
        return market.price_to_ticks(request.stop_price, "stopPrice")
    except MoneyError as error:
        raise bad_request(Code.FILTER_FAILURE, str(error), "PRICE_FILTER") from None


def quote_budget(market: MarketSpec, amount: str) -> int:
    """A quote amount as tick-lots, the budget's unit in the book. What lies below one tick-lot
    can never be spent nor received (every notional is whole tick-lots), so it is dropped."""
    try:
        units = market.quote.to_units(amount, "quoteOrderQty")
    except MoneyError as error:
        raise bad_request(Code.FILTER_FAILURE, str(error)) from None
    return units // market.quote_units_per_tick_lot


def budget_lots(market: MarketSpec, side: Side, budget: int, best: int, protection: int) -> int:
    """The lot cap of a market order with a quote budget (tick-lots): for a buy, the lots the
    budget pays for at the best ask now; for a sell, the most it may sell, every fill being
    at or above the protection price (what its lock of base must cover)."""
    lots = min(budget // (best if side is Side.BUY else protection), market.max_qty)
    if lots < market.min_qty:
        raise bad_request(
            Code.FILTER_FAILURE,
            f"quoteOrderQty {market.quote.format(budget * market.quote_units_per_tick_lot)} "
            f"{'buys' if side is Side.BUY else 'sells'} less than the minimum quantity "
            f"{market.format_quantity(market.min_qty)} at {market.format_price(best)}",
        )
    return lots


def place_order(
    request: OrderRequest,
    market: MarketSpec,
    *,
    order_id: int,
    account: int,
    ts: int,
    reply_to: str,
    protection_price: int,
    best: int,
) -> PlaceOrder:
    """The command for an order request; filters are checked by the caller's market rules.
    `best` is the best opposite price a market order meets first (ticks); `protection_price`
    bounds an order that executes as a market order."""
    is_market = is_market_order(request)
    side = side_of(request.side)
    budget = 0
    if request.quote_order_qty is not None:
        budget = quote_budget(market, request.quote_order_qty)
        lots = budget_lots(market, side, budget, best, protection_price)
    else:
        assert request.quantity is not None  # is_market_order refuses an order without
        lots = quantity_lots(market, request.quantity)
    if is_market:
        ticks = 0
    else:
        try:
            ticks = market.price_to_ticks(request.price)
        except MoneyError as error:
            raise bad_request(Code.FILTER_FAILURE, str(error), "PRICE_FILTER") from None
    tif = TimeInForce(request.time_in_force) if request.time_in_force else (
        TimeInForce.IOC if is_market else TimeInForce.GTC
    )  # fmt: skip
    if request.post_only and tif is not TimeInForce.GTC:
        raise bad_request(Code.ILLEGAL_PARAMETER, "postOnly: only with timeInForce GTC")
    return PlaceOrder(
        order_id=order_id,
        account=account,
        side=side,
        price=ticks,
        quantity=lots,
        ts=ts,
        order_type=order_type_of(request),
        time_in_force=tif,
        post_only=request.post_only,
        self_trade_prevention=SelfTradePrevention(request.self_trade_prevention),
        protection_price=protection_price if is_market else 0,
        client_order_id=request.client_order_id,
        reply_to=reply_to,
        quote_budget=budget,
        stop_price=stop_ticks(market, request),
    )


def best_opposite_price(side: Side, depth: DepthSnapshot) -> int:
    """The price a market order of `side` fills at first (ticks), refused if there is none."""
    levels = depth.asks if side is Side.BUY else depth.bids
    if not levels:
        raise bad_request(Code.ORDER_REJECTED, "no liquidity on the other side for a market order")
    return levels[0].price


def protection_price(side: Side, best: int, band_bps: int) -> int:
    """A market order's worst acceptable price: the best opposite price moved by the band, in
    the taker's disfavour (up for a buy, down for a sell), whole ticks."""
    if side is Side.BUY:
        return min(-(-best * (10_000 + band_bps) // 10_000), MAX_UNITS)
    return max(best * (10_000 - band_bps) // 10_000, 1)


def order_out(record: OrderRecord, market: MarketSpec, fills: list[Fill] | None = None) -> OrderOut:
    return OrderOut(
        order_id=record.order_id,
        client_order_id=record.client_order_id,
        market=record.market,
        side=record.side.value,
        type=record.order_type,
        time_in_force=record.time_in_force,
        price=market.format_price(record.price),
        quantity=market.format_quantity(record.quantity),
        status=record.status.value,
        executed_qty=market.format_quantity(record.executed),
        cumulative_quote_qty=market.quote.format(record.executed_quote),
        quote_order_qty=market.quote.format(record.quote_quantity)
        if record.quote_quantity
        else None,
        stop_price=market.format_price(record.stop_price) if record.stop_price else None,
        reason=record.reason,
        fills=[
            FillOut(
                price=market.format_price(f.price),
                qty=market.format_quantity(f.quantity),
                trade_id=f.trade_id,
            )
            for f in fills or ()
        ],
        created=record.created,
        updated=record.updated,
    )


def market_out(market: MarketSpec) -> MarketOut:
    return MarketOut(
        symbol=market.symbol,
        base=market.base.symbol,
        quote=market.quote.symbol,
        base_decimals=market.base.decimals,
        quote_decimals=market.quote.decimals,
        tick_size=str(market.tick_size),
        lot_size=str(market.lot_size),
        min_qty=market.format_quantity(market.min_qty),
        max_qty=market.format_quantity(market.max_qty),
        min_notional=market.quote.format(market.min_notional),
        maker_fee_bps=market.maker_fee_bps,
        taker_fee_bps=market.taker_fee_bps,
        trading_state=market.trading_state.value,
        max_open_orders=market.max_open_orders,
        order_types=[order_type.value for order_type in market.order_types],
    )


def depth_out(market: MarketSpec, depth: DepthSnapshot, limit: int) -> DepthOut:
    def side(levels: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        return [
            (market.format_price(level.price), market.format_quantity(level.quantity))
            for level in levels[:limit]
        ]

    return DepthOut(
        symbol=market.symbol,
        last_update_id=depth.last_update_id,
        bids=side(depth.bids),
        asks=side(depth.asks),
    )


def trade_out(market: MarketSpec, trade: PublicTrade) -> TradeOut:
    return TradeOut(
        id=trade.trade_id,
        price=market.format_price(trade.price),
        qty=market.format_quantity(trade.quantity),
        quote_qty=market.quote.format(market.notional(trade.price, trade.quantity)),
        time=trade.ts,
        is_buyer_maker=trade.taker_side is Side.SELL,
    )


def ticker_out(market: MarketSpec, ticker: Ticker | None) -> TickerOut:
    if ticker is None:
        return TickerOut(
            symbol=market.symbol, last_price=None, open_price=None, high_price=None,
            low_price=None, volume=market.format_quantity(0), quote_volume=market.quote.format(0),
            count=0, open_time=None, close_time=None,
        )  # fmt: skip
    return TickerOut(
        symbol=market.symbol,
        last_price=market.format_price(ticker.last_price),
        open_price=market.format_price(ticker.open_price),
        high_price=market.format_price(ticker.high_price),
        low_price=market.format_price(ticker.low_price),
        volume=market.format_quantity(ticker.base_volume),
        quote_volume=market.quote.format(ticker.quote_volume),
        count=ticker.trade_count,
        open_time=ticker.open_time,
        close_time=ticker.close_time,
    )


def average_price(market: MarketSpec, total: int, lots: int) -> str:
    """The average price of fills worth `total` quote units for `lots`, with two decimal
    places more than the tick, rounded down."""
    hundredths_of_ticks = total * 100 // (lots * market.quote_units_per_tick_lot)
    tick = market.tick_size
    return format_units(hundredths_of_ticks * tick.digits, tick.scale + 2)


def history_out(row: dict[str, object], market: MarketSpec) -> OrderOut:
    """An order row of PostgreSQL (NUMERIC amounts) as the REST model."""

    def text(value: object) -> str:
        assert isinstance(value, Decimal)
        return format(value, "f")

    return OrderOut(
        order_id=int(row["order_id"]),  # type: ignore[call-overload]
        client_order_id=str(row["client_order_id"]),
        market=str(row["market"]),
        side=str(row["side"]),
        type=str(row["order_type"]),
        time_in_force=str(row["time_in_force"]),
        price=text(row["price"]),
        quantity=text(row["quantity"]),
        status=str(row["status"]),
        executed_qty=text(row["executed"]),
        cumulative_quote_qty=text(row["executed_quote"]),
        reason=str(row["reason"]),
        created=int(row["created"]),  # type: ignore[call-overload]
        updated=int(row["updated"]),  # type: ignore[call-overload]
    )


def my_trade_out(trade: OwnTrade) -> MyTradeOut:
    """A trade seen from the account's side of it; its fee is in the quote asset."""
    market = trade.market
    return MyTradeOut(
        market=market.symbol, trade_id=trade.trade_id, order_id=trade.order_id,
        side=(Side.BUY if trade.is_buyer else Side.SELL).value,
        price=market.format_price(trade.price), qty=market.format_quantity(trade.quantity),
        quote_qty=market.quote.format(trade.notional), fee=market.quote.format(trade.fee),
        fee_asset=market.quote.symbol, maker=trade.is_maker, time=trade.time,
    )  # fmt: skip
