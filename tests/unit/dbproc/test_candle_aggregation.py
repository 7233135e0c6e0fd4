"""Candles of a set of trades: exact OHLC, volumes and counts per interval and UTC bucket, the
same whatever order the trades come in, and the same when built in parts and merged by the
rule the table's upsert applies."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cryptex.markets import load_manifest
from cryptex.wire import Side, TradeExecuted
from cryptex_dbproc.candles import Candle, aggregate, row

SOL_USDC = load_manifest(Path(__file__).resolve().parents[3] / "crds/examples/sol-usdc.yaml")
DAY = 1_699_920_000_000  # epoch ms of a UTC midnight


def trade(trade_id: int, ts: int, price: int, lots: int, taker: Side = Side.BUY) -> TradeExecuted:
    return TradeExecuted(trade_id, price, lots, taker, 1, 1, 2, 2, ts)


def test_one_candle_per_interval_and_bucket_with_exact_values() -> None:
    trades = [
        trade(1, DAY + 5_000, 15_000, 1_000),
        trade(3, DAY + 59_999, 14_900, 500, Side.SELL),
        trade(2, DAY + 59_999, 15_200, 250),  # same instant, smaller id: before trade 3
        trade(4, DAY + 60_000, 15_100, 100),
    ]
    candles = aggregate(trades, SOL_USDC)
    assert [(c.interval, c.open_time - DAY, c.trade_count) for c in candles] == [
        ("1m", 0, 3), ("1m", 60_000, 1), ("5m", 0, 4), ("15m", 0, 4), ("1h", 0, 4), ("1d", 0, 4),
    ]  # fmt: skip
    first_minute = candles[0]
    assert (first_minute.open, first_minute.high, first_minute.low, first_minute.close) == (
        15_000, 15_200, 14_900, 14_900,
    )  # fmt: skip
    # the taker sold in trade 3: the taker-buy volumes leave it out
    assert row(candles[2]) == (
        "5m", DAY, 15_000, 15_200, 14_900, 15_100, 1_850, 277_600_000, 4, 1_350, 203_100_000,
        DAY + 5_000, 1, DAY + 60_000, 4,
    )  # fmt: skip


def merge(stored: Candle, new: Candle) -> Candle:
    """The upsert's rule (store._UPSERT_CANDLES), as the obvious Python."""
    first_is_new, last_is_new = new.first < stored.first, new.last > stored.last
    return Candle(
        stored.interval, stored.open_time,
        new.open if first_is_new else stored.open, max(stored.high, new.high),
        min(stored.low, new.low), new.close if last_is_new else stored.close,
        stored.base_volume + new.base_volume, stored.quote_volume + new.quote_volume,
        stored.trade_count + new.trade_count,
        stored.taker_buy_base_volume + new.taker_buy_base_volume,
        stored.taker_buy_quote_volume + new.taker_buy_quote_volume, min(stored.first, new.first),
        max(stored.last, new.last),
    )  # fmt: skip


trade_lists = st.lists(
    st.tuples(
        st.integers(0, 3 * 3_600_000), st.integers(1, 50_000), st.integers(1, 10_000),
        st.sampled_from(Side),
    ),
    min_size=1, max_size=60,
).map(lambda raw: [trade(i, DAY + ts, *rest) for i, (ts, *rest) in enumerate(raw, 1)])  # fmt: skip


@given(trade_lists, st.randoms(use_true_random=False), st.integers(0, 60))
def test_any_order_and_any_split_give_the_same_candles(
    trades: list[TradeExecuted], rng: random.Random, cut: int
) -> None:
    whole = aggregate(trades, SOL_USDC)
    shuffled = trades[:]
    rng.shuffle(shuffled)
    assert aggregate(shuffled, SOL_USDC) == whole

    merged = {(c.interval, c.open_time): c for c in aggregate(shuffled[cut:], SOL_USDC)}
    for candle in aggregate(shuffled[:cut], SOL_USDC):
        key = (candle.interval, candle.open_time)
        merged[key] = merge(merged[key], candle) if key in merged else candle
    assert sorted(merged.values(), key=lambda c: whole.index(c)) == whole
