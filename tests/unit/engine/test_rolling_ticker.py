"""The 24-hour ticker rolls by the trades' own timestamps, minute by minute."""

from __future__ import annotations

from cryptex.wire import Ticker
from cryptex_engine.ticker import MINUTE_MS, WINDOW_MS, RollingTicker

T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS


def test_an_empty_ticker_has_nothing_to_say() -> None:
    assert RollingTicker().ticker() is None


def test_trades_make_open_high_low_last_and_volumes() -> None:
    ticker = RollingTicker()
    ticker.add(T0 + 1_000, 100, 2, 200)
    ticker.add(T0 + 2_000, 105, 1, 105)
    ticker.add(T0 + MINUTE_MS + 5, 98, 3, 294)
    assert ticker.ticker() == Ticker(
        last_price=98, open_price=100, high_price=105, low_price=98, base_volume=6,
        quote_volume=599, trade_count=3, open_time=T0, close_time=T0 + MINUTE_MS + 5,
    )  # fmt: skip


def test_minutes_older_than_a_day_roll_out() -> None:
    ticker = RollingTicker()
    ticker.add(T0, 100, 1, 100)
    ticker.add(T0 + MINUTE_MS, 110, 1, 110)
    ticker.add(T0 + WINDOW_MS, 120, 1, 120)  # the first minute is now a day old
    current = ticker.ticker()
    assert current is not None
    assert (current.open_price, current.low_price, current.trade_count) == (110, 110, 2)


def test_buckets_round_trip_through_a_snapshot() -> None:
    ticker = RollingTicker()
    ticker.add(T0, 100, 1, 100)
    ticker.add(T0 + 3 * MINUTE_MS, 101, 2, 202)
    assert RollingTicker(ticker.buckets()).ticker() == ticker.ticker()


def test_a_late_timestamp_joins_the_latest_minute() -> None:
    ticker = RollingTicker()
    ticker.add(T0 + MINUTE_MS, 100, 1, 100)
    ticker.add(T0 + 10, 90, 1, 90)  # from a clock a little behind: never reorders the window
    current = ticker.ticker()
    assert current is not None
    assert (current.last_price, current.low_price, current.close_time) == (90, 90, T0 + MINUTE_MS)
