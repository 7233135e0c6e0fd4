"""Kline (candle) intervals: the DB processor writes candles of these, the REST API serves them
(`/api/v1/klines?interval=`) and the WebSocket server streams them (`kline_<interval>@M`).

A candle of an interval starts at a multiple of its length from the epoch, in UTC."""

from __future__ import annotations

from typing import Final

INTERVALS_MS: Final = {
    "1m": 60_000,
    "5m": 5 * 60_000,
    "15m": 15 * 60_000,
    "1h": 3_600_000,
    "1d": 86_400_000,
}
