"""Public market data: markets and their filters, depth (with lastUpdateId, to sync with the
WebSocket diffs), recent trades, candles and 24-hour tickers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import msgspec
from fastapi import APIRouter, Depends, Query

from cryptex import keys
from cryptex.klines import INTERVALS_MS
from cryptex.wire import PublicTrade
from cryptex_api import translate
from cryptex_api.context import ApiContext, context
from cryptex_api.errors import Code, bad_request
from cryptex_api.exact_json import ExactJsonRoute
from cryptex_api.models import MAX_TIME_MS, DepthOut, MarketOut, TickerOut, TradeOut
from cryptex_api.orders import decode_ticker, depth_snapshot

router = APIRouter(prefix="/api/v1", tags=["market data"], route_class=ExactJsonRoute)
_trade = msgspec.msgpack.Decoder(PublicTrade).decode


@router.get("/markets", response_model=list[MarketOut])
async def markets(ctx: ApiContext = Depends(context)) -> list[MarketOut]:
    """Every listed market with its filters: tick and lot sizes, min/max quantity, min
    notional, fees, trading state."""
    return [translate.market_out(market) for market in (await ctx.markets.all()).values()]


@router.get("/depth", response_model=DepthOut)
async def depth(
    symbol: str = Query(max_length=32, examples=["SOL_USDC"]),
    limit: int = Query(default=100, ge=1, le=100),
    ctx: ApiContext = Depends(context),
) -> DepthOut:
    market = await ctx.markets.get(symbol)
    return translate.depth_out(market, await depth_snapshot(ctx, market.symbol), limit)


@router.get("/trades", response_model=list[TradeOut])
async def trades(
    symbol: str = Query(max_length=32, examples=["SOL_USDC"]),
    limit: int = Query(default=100, ge=1, le=1_000),
    ctx: ApiContext = Depends(context),
) -> list[TradeOut]:
    """The latest trades, newest first."""
    market = await ctx.markets.get(symbol)
    raw = cast(list[bytes], await ctx.redis.lrange(keys.recent_trades(market.symbol), 0, limit - 1))
    return [translate.trade_out(market, _trade(item)) for item in raw]


@router.get("/klines")
async def klines(
    symbol: str = Query(max_length=32, examples=["SOL_USDC"]),
    interval: str = Query(max_length=4, examples=["1m"]),
    start_time: int | None = Query(default=None, alias="startTime", ge=0, le=MAX_TIME_MS),
    end_time: int | None = Query(default=None, alias="endTime", ge=0, le=MAX_TIME_MS),
    limit: int = Query(default=500, ge=1, le=1_000),
    ctx: ApiContext = Depends(context),
) -> list[list[object]]:
    """Candles, oldest first: `[openTime, open, high, low, close, volume, closeTime,
    quoteVolume, trades, takerBuyBaseVolume, takerBuyQuoteVolume]`, times in epoch ms, amounts
    as decimal strings (the taker-buy volumes null where they are not known: a candle written
    before they were kept, whose trades were gone by then)."""
    market = await ctx.markets.get(symbol)
    length = INTERVALS_MS.get(interval)
    if length is None:
        raise bad_request(Code.BAD_INTERVAL, f"interval: one of {', '.join(INTERVALS_MS)}")
    if start_time is not None and end_time is not None and start_time > end_time:
        raise bad_request(Code.ILLEGAL_PARAMETER, "startTime: after endTime")
    rows = await ctx.db.fetch(
        """SELECT open_time, open, high, low, close, base_volume, quote_volume, trade_count,
                  taker_buy_base_volume, taker_buy_quote_volume
             FROM candles
            WHERE market = $1 AND interval = $2
              AND ($3::timestamptz IS NULL OR open_time >= $3)
              AND ($4::timestamptz IS NULL OR open_time <= $4)
            ORDER BY open_time DESC
            LIMIT $5""",
        market.symbol, interval, _time(start_time), _time(end_time), limit,
    )  # fmt: skip
    out: list[list[object]] = []
    for row in reversed(rows):
        opened = int(row["open_time"].timestamp() * 1000)
        out.append([
            opened, _text(row["open"]), _text(row["high"]), _text(row["low"]),
            _text(row["close"]), _text(row["base_volume"]), opened + length - 1,
            _text(row["quote_volume"]), row["trade_count"], _known(row["taker_buy_base_volume"]),
            _known(row["taker_buy_quote_volume"]),
        ])  # fmt: skip
    return out


@router.get("/tickers", response_model=list[TickerOut])
async def tickers(ctx: ApiContext = Depends(context)) -> list[TickerOut]:
    """24-hour rolling statistics of every market."""
    listed = await ctx.markets.all()
    symbols = list(listed)
    raw = cast(list[bytes | None], await ctx.redis.mget([keys.ticker(s) for s in symbols]))
    return [
        translate.ticker_out(listed[symbol], decode_ticker(item) if item else None)
        for symbol, item in zip(symbols, raw, strict=True)
    ]


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _text(value: Decimal) -> str:
    return format(value, "f")


def _known(value: Decimal | None) -> str | None:
    return None if value is None else _text(value)
