"""Candles from trades: boundaries from the trades' timestamps, a candle that closes within a
batch reported before its successor, late and repeated trades left out."""

from __future__ import annotations

from cryptex.markets import MarketSpec
from cryptex.wire import PublicTrade, Side
from cryptex_ws.candles import Candle, Candles

MINUTE = 60_000
T0 = 1_700_000_040_000  # 40 s into a minute


def trade(trade_id: int, price: int, quantity: int, ts: int) -> PublicTrade:
    return PublicTrade(trade_id, price, quantity, Side.BUY, ts)


def test_one_candle_per_interval_from_its_first_trade(sol: MarketSpec) -> None:
    candles = Candles(sol)
    touched = candles.apply(
        [trade(1, 15_000, 1_000, T0), trade(2, 15_200, 500, T0 + 1), trade(3, 14_900, 500, T0 + 2)]
    )
    assert set(touched) == {"1m", "5m", "15m", "1h", "1d"}
    [minute] = touched["1m"]
    assert minute == Candle(
        "1m", T0 - T0 % MINUTE, open=15_000, high=15_200, low=14_900, close=14_900,
        volume=2_000, quote_volume=sol.notional(15_000, 1_000) + sol.notional(15_200, 500)
        + sol.notional(14_900, 500), trades=3, first_trade_id=1, last_trade_id=3,
        taker_buy_volume=2_000, taker_buy_quote_volume=sol.notional(15_000, 1_000)
        + sol.notional(15_200, 500) + sol.notional(14_900, 500),
    )  # fmt: skip
    assert touched["1d"][0].open_time == T0 - T0 % 86_400_000


def test_a_candle_that_closes_in_a_batch_comes_first_in_its_final_state(sol: MarketSpec) -> None:
    candles = Candles(sol)
    next_minute = T0 - T0 % MINUTE + MINUTE
    touched = candles.apply([trade(1, 15_000, 1_000, T0), trade(2, 15_100, 1_000, next_minute + 5)])
    closed, opened = touched["1m"]
    assert (closed.open_time, closed.close, closed.trades) == (T0 - T0 % MINUTE, 15_000, 1)
    assert (opened.open_time, opened.open, opened.trades) == (next_minute, 15_100, 1)
    [hour] = touched["1h"]  # the same hour: one candle, two trades
    assert (hour.open, hour.close, hour.trades) == (15_000, 15_100, 2)
    assert candles.current["1m"] is opened


def test_late_and_repeated_trades_change_nothing(sol: MarketSpec) -> None:
    candles = Candles(sol)
    candles.apply([trade(1, 15_000, 1_000, T0 + MINUTE)])
    before = Candle(**{f: getattr(candles.current["1m"], f) for f in Candle.__dataclass_fields__})
    # Trade 2 is stamped in the previous minute (an earlier command from another API process);
    # trade 1 comes again (the recent trades list overlaps the channel at start).
    touched = candles.apply([trade(1, 15_000, 1_000, T0 + MINUTE), trade(2, 16_000, 1, T0)])
    assert "1m" not in touched
    assert candles.current["1m"] == before
    assert touched["1h"][0].trades == 2  # same hour: trade 2 counts there
    assert candles.last_trade_id == 2
