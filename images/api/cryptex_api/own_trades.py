"""An account's own trades, as the DB processor recorded them in PostgreSQL: the one query that
both `GET /api/v1/myTrades` and Binance's `GET /api/v3/myTrades` read, and the native route.
A trade is seen from the account's side of it (maker or taker); a self-trade is two rows, one
per order. Nothing here reads Redis: trades not yet recorded are not listed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from fastapi import APIRouter, Depends, Query

from cryptex.markets import MarketSpec
from cryptex.tokens import Principal
from cryptex_api import translate
from cryptex_api.context import ApiContext, context, principal
from cryptex_api.errors import Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import MAX_TIME_MS, MyTradeOut

router = APIRouter(prefix="/api/v1", tags=["orders"], route_class=ExactJsonRoute)


class Order(Enum):
    NEWEST_FIRST = "ts DESC, trade_id DESC, is_maker"  # the native history's order
    BY_TRADE_ID = "trade_id, is_maker"  # Binance's (one market; its fromId walks ids)


@dataclass(frozen=True, slots=True)
class OwnTrade:
    market: MarketSpec
    trade_id: int
    order_id: int
    is_maker: bool
    is_buyer: bool
    price: int  # ticks
    quantity: int  # lots
    time: int  # epoch ms

    @property
    def notional(self) -> int:  # quote units
        return self.market.notional(self.price, self.quantity)

    @property
    def fee(self) -> int:  # quote units, at the market's fee of this side
        return self.market.fee(self.notional, maker=self.is_maker)


# One SELECT per side, each served by its account index (`trades_maker_account`,
# `trades_taker_account`); a self-trade matches both. Time bounds are exact in integer ms
# (`to_timestamp` of a float could miss a trade at the bound's very millisecond).
_SIDE = """
    SELECT market, trade_id, ts, price, quantity, {maker} AS is_maker,
           {side}_order_id AS order_id, (taker_side = 'BUY') <> {maker} AS is_buyer
      FROM trades
     WHERE {side}_account = $1 AND ($2::text IS NULL OR market = $2)
       AND ($3::bigint IS NULL OR ts >= 'epoch'::timestamptz + $3::bigint * interval '1 ms')
       AND ($4::bigint IS NULL OR ts <= 'epoch'::timestamptz + $4::bigint * interval '1 ms')
       AND ($5::bigint IS NULL OR trade_id >= $5)"""
_QUERIES = {
    order: f"""SELECT market, trade_id, price, quantity, is_maker, order_id, is_buyer,
                      (extract(epoch FROM ts) * 1000)::bigint AS ts_ms
                 FROM ({_SIDE.format(maker="true", side="maker")}
                       UNION ALL {_SIDE.format(maker="false", side="taker")}) AS own
                ORDER BY {order.value}
                LIMIT $6"""
    for order in Order
}


async def own_trades(
    ctx: ApiContext,
    account: int,
    symbol: str | None,
    *,
    limit: int,
    order: Order,
    start_ms: int | None = None,
    end_ms: int | None = None,
    from_id: int | None = None,
) -> list[OwnTrade]:
    """The account's recorded trades (of one market, if named; from `start_ms` to `end_ms`
    inclusive; with ids from `from_id`, which only make sense within one market)."""
    rows = await ctx.db.fetch(_QUERIES[order], account, symbol, start_ms, end_ms, from_id, limit)
    markets = await ctx.markets.all()
    found: list[OwnTrade] = []
    for row in rows:
        market = markets.get(row["market"])
        if market is None:  # delisted since: its trades stay in the table, not in the answer
            continue
        found.append(OwnTrade(
            market=market, trade_id=row["trade_id"], order_id=row["order_id"],
            is_maker=row["is_maker"], is_buyer=row["is_buyer"],
            price=market.price_to_ticks(format(row["price"], "f")),  # NUMERIC, exact
            quantity=market.quantity_to_lots(format(row["quantity"], "f")),
            time=row["ts_ms"],
        ))  # fmt: skip
    return found


@router.get("/myTrades", response_model=list[MyTradeOut])
async def my_trades(
    market: str | None = Query(default=None, max_length=32, examples=["SOL_USDC"]),
    start_time: int | None = Query(default=None, alias="startTime", ge=0, le=MAX_TIME_MS),
    end_time: int | None = Query(default=None, alias="endTime", ge=0, le=MAX_TIME_MS),
    limit: int = Query(default=100, ge=1, le=1_000),
    who: Principal = Depends(principal),
    ctx: ApiContext = Depends(context),
) -> list[MyTradeOut]:
    """Your trades newest first, as the DB processor has recorded them: the latest `limit`
    from `startTime` to `endTime` (epoch ms, both inclusive). Page back with `endTime` set to
    the oldest `time` received (its trades come again: skip those already held)."""
    symbol = (await ctx.markets.get(market)).symbol if market else None
    if start_time is not None and end_time is not None and start_time > end_time:
        raise bad_request(Code.ILLEGAL_PARAMETER, "startTime: after endTime")
    found = await own_trades(
        ctx, who.account, symbol, limit=limit, order=Order.NEWEST_FIRST,
        start_ms=start_time, end_ms=end_time,
    )  # fmt: skip
    return [translate.my_trade_out(trade) for trade in found]
