"""Candles (1m, 5m, 15m, 1h, 1d) of a set of trades, to be merged into the `candles` table.

A candle's open is the price of its first trade by (ts, trade id), its close that of its last,
whatever order the trades come in; each candle carries those two keys, so the table's upsert
(`store`) merges a batch's candle into a stored one by the same rule: the open with the smaller
key, the close with the larger, the highest high, the lowest low, volumes (the taker-buy ones
too: the volume of trades whose taker bought) and counts added. The
caller passes only trades inserted by the same transaction, so nothing is counted twice.

Pure, in the engine's integers (ticks, lots, quote units, epoch ms): `store` turns them into
exact decimals and times as it writes. Buckets start at multiples of their length from the
epoch, in UTC (a day starts at 00:00 UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from cryptex.klines import INTERVALS_MS
from cryptex.markets import MarketSpec
from cryptex.wire import Side, TradeExecuted


@dataclass(slots=True)
class Candle:
    interval: str
    open_time: int  # epoch ms
    open: int  # ticks
    high: int
    low: int
    close: int
    base_volume: int  # lots
    quote_volume: int  # quote units
    trade_count: int
    taker_buy_base_volume: int  # lots
    taker_buy_quote_volume: int  # quote units
    first: tuple[int, int]  # (ts, trade id) of the opening trade
    last: tuple[int, int]  # (ts, trade id) of the closing trade

    def add(
        self, key: tuple[int, int], price: int, lots: int, quote: int, taker_buys: bool
    ) -> None:
        if key < self.first:
            self.first, self.open = key, price
        if key > self.last:
            self.last, self.close = key, price
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.base_volume += lots
        self.quote_volume += quote
        self.trade_count += 1
        if taker_buys:
            self.taker_buy_base_volume += lots
            self.taker_buy_quote_volume += quote


def aggregate(trades: Iterable[TradeExecuted], market: MarketSpec) -> list[Candle]:
    """One candle per interval and bucket that the trades fall in, ordered by interval then
    open time (writers lock rows in one order, so two of them never deadlock)."""
    candles: dict[tuple[str, int], Candle] = {}
    intervals = tuple(INTERVALS_MS.items())
    for trade in trades:
        ts, price, lots = trade.ts, trade.price, trade.quantity
        key = (ts, trade.trade_id)
        quote = market.notional(price, lots)
        taker_buys = trade.taker_side is Side.BUY
        for name, length in intervals:
            bucket = (name, ts - ts % length)
            candle = candles.get(bucket)
            if candle is None:
                candles[bucket] = Candle(
                    name, bucket[1], price, price, price, price, lots, quote, 1,
                    lots if taker_buys else 0, quote if taker_buys else 0, key, key,
                )  # fmt: skip
            else:
                candle.add(key, price, lots, quote, taker_buys)
    order = list(INTERVALS_MS)
    return sorted(candles.values(), key=lambda c: (order.index(c.interval), c.open_time))


class CandleRow(NamedTuple):
    """A row of the `candles` table (its market aside), in column order."""

    interval: str
    open_time: int  # epoch ms
    open: int  # ticks
    high: int
    low: int
    close: int
    base_volume: int  # lots
    quote_volume: int  # quote units
    trade_count: int
    taker_buy_base_volume: int  # lots
    taker_buy_quote_volume: int  # quote units
    first_trade_ts: int  # epoch ms
    first_trade_id: int
    last_trade_ts: int  # epoch ms
    last_trade_id: int


def row(candle: Candle) -> CandleRow:
    return CandleRow(
        candle.interval, candle.open_time, candle.open, candle.high, candle.low, candle.close,
        candle.base_volume, candle.quote_volume, candle.trade_count, candle.taker_buy_base_volume,
        candle.taker_buy_quote_volume, *candle.first, *candle.last,
    )  # fmt: skip
