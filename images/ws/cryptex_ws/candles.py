"""The current candle of each kline interval of one market, kept from its trades.

Interval boundaries come from the trades' own timestamps (epoch ms of the taker's command), never
from a clock: a candle opens at `ts - ts % interval` with its first trade. A trade stamped
before the current candle's interval belongs to a candle already closed and changes nothing
here (the DB processor's candles have it). Pure: trades in, touched candles out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptex.klines import INTERVALS_MS
from cryptex.markets import MarketSpec
from cryptex.wire import PublicTrade, Side


@dataclass(slots=True)
class Candle:
    """One interval's open/high/low/close; mutable while its interval is the current one."""

    interval: str
    open_time: int  # epoch ms
    open: int  # ticks
    high: int
    low: int
    close: int
    volume: int  # lots
    quote_volume: int  # quote units
    trades: int
    first_trade_id: int
    last_trade_id: int
    taker_buy_volume: int  # lots bought by takers
    taker_buy_quote_volume: int  # quote units


class Candles:
    def __init__(self, market: MarketSpec) -> None:
        self.market = market
        self.current: dict[str, Candle] = {}
        self.last_trade_id = 0  # trades at or below it are already counted

    def apply(self, trades: Iterable[PublicTrade]) -> dict[str, list[Candle]]:
        """Count the trades (in id order) and return, per interval, the candles they touched,
        oldest first: a candle that closed within these trades comes before its successor."""
        touched: dict[str, list[Candle]] = {}
        notional = self.market.notional
        for trade in trades:
            if trade.trade_id <= self.last_trade_id:
                continue  # seen already: the recent trades list overlaps the channel at start
            self.last_trade_id = trade.trade_id
            price, quantity = trade.price, trade.quantity
            quote = notional(price, quantity)
            for interval, length in INTERVALS_MS.items():
                open_time = trade.ts - trade.ts % length
                candle = self.current.get(interval)
                if candle is None or open_time > candle.open_time:
                    candle = Candle(
                        interval, open_time, price, price, price, price, 0, 0, 0,
                        trade.trade_id, trade.trade_id, 0, 0,
                    )  # fmt: skip
                    self.current[interval] = candle
                elif open_time < candle.open_time:
                    continue
                candle.high = max(candle.high, price)
                candle.low = min(candle.low, price)
                candle.close = price
                candle.volume += quantity
                candle.quote_volume += quote
                candle.trades += 1
                candle.last_trade_id = trade.trade_id
                if trade.taker_side is Side.BUY:
                    candle.taker_buy_volume += quantity
                    candle.taker_buy_quote_volume += quote
                seen = touched.setdefault(interval, [])
                if not seen or seen[-1] is not candle:
                    seen.append(candle)
        return touched
