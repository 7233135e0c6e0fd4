"""Market rules: which tick and lot sizes are exact, the amounts they stand for, filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptex.markets import AssetSpec, MarketError, MarketSpec, load_manifests
from cryptex.money import MAX_UNITS, MoneyError, parse_decimal

EXAMPLES = Path(__file__).resolve().parents[2] / "crds" / "examples"


@pytest.fixture(scope="module")
def examples() -> dict[str, MarketSpec]:
    return load_manifests(EXAMPLES)


def make_market(
    *,
    base_decimals: int = 8,
    quote_decimals: int = 6,
    tick: str = "0.01",
    lot: str = "0.001",
    min_qty: int = 1,
    max_qty: int = 1_000,
    min_notional: int = 0,
    maker_fee_bps: int = 10,
    taker_fee_bps: int = 20,
) -> MarketSpec:
    return MarketSpec(
        base=AssetSpec("SOL", base_decimals),
        quote=AssetSpec("USDC", quote_decimals),
        tick_size=parse_decimal(tick, "tickSize"),
        lot_size=parse_decimal(lot, "lotSize"),
        min_qty=min_qty,
        max_qty=max_qty,
        min_notional=min_notional,
        maker_fee_bps=maker_fee_bps,
        taker_fee_bps=taker_fee_bps,
    )


def market_error(**changes: object) -> str:
    with pytest.raises(MarketError) as excinfo:
        make_market(**changes)  # type: ignore[arg-type]
    return str(excinfo.value)


# ------------------------------------------------------------------------------ validity rule


@pytest.mark.parametrize(
    ("base_decimals", "quote_decimals", "tick", "lot", "per_lot", "per_tick_lot"),
    [
        (8, 6, "0.01", "0.001", 100_000, 10),
        (8, 6, "0.1", "0.00001", 1_000, 1),
        (8, 6, "0.01", "0.0001", 10_000, 1),
        (0, 0, "5", "10", 10, 50),
        (1, 1, "0.5", "0.2", 2, 1),
        (8, 6, "0.000001", "1", 100_000_000, 1),
        (8, 2, "0.01", "1", 100_000_000, 1),
        (18, 18, "0.000000001", "0.000000001", 1_000_000_000, 1),
        (8, 6, "0.010", "0.00100", 100_000, 10),
    ],
)
def test_exact_tick_and_lot_sizes_are_accepted_with_their_unit_sizes(
    base_decimals: int, quote_decimals: int, tick: str, lot: str, per_lot: int, per_tick_lot: int
) -> None:
    market = make_market(
        base_decimals=base_decimals, quote_decimals=quote_decimals, tick=tick, lot=lot
    )
    assert market.base_units_per_lot == per_lot
    assert market.quote_units_per_tick_lot == per_tick_lot


@pytest.mark.parametrize(
    ("base_decimals", "lot", "message"),
    [
        (2, "0.001", "SOL_USDC: lotSize 0.001 is finer than SOL's 2 decimals"),
        (0, "0.5", "SOL_USDC: lotSize 0.5 is finer than SOL's 0 decimals"),
        (8, "0.000000001", "SOL_USDC: lotSize 0.000000001 is finer than SOL's 8 decimals"),
    ],
)
def test_a_lot_finer_than_the_base_asset_is_refused(
    base_decimals: int, lot: str, message: str
) -> None:
    assert market_error(base_decimals=base_decimals, lot=lot, tick="1") == message


@pytest.mark.parametrize(
    ("quote_decimals", "tick", "lot", "message"),
    [
        (
            2,
            "0.01",
            "0.001",
            "SOL_USDC: tickSize 0.01 x lotSize 0.001 is finer than USDC's 2 decimals, "
            "so a notional would not be exact",
        ),
        (
            0,
            "0.5",
            "1",
            "SOL_USDC: tickSize 0.5 x lotSize 1 is finer than USDC's 0 decimals, "
            "so a notional would not be exact",
        ),
        (
            1,
            "0.5",
            "0.3",
            "SOL_USDC: tickSize 0.5 x lotSize 0.3 is finer than USDC's 1 decimals, "
            "so a notional would not be exact",
        ),
    ],
)
def test_a_tick_times_lot_finer_than_the_quote_asset_is_refused(
    quote_decimals: int, tick: str, lot: str, message: str
) -> None:
    assert market_error(quote_decimals=quote_decimals, tick=tick, lot=lot) == message


@pytest.mark.parametrize(("tick", "lot"), [("0", "0.001"), ("0.01", "0"), ("0.00", "0.000")])
def test_zero_tick_or_lot_size_is_refused(tick: str, lot: str) -> None:
    assert market_error(tick=tick, lot=lot) == (
        "SOL_USDC: tickSize and lotSize must be greater than zero"
    )


@pytest.mark.parametrize(("min_qty", "max_qty"), [(0, 10), (-1, 10), (11, 10)])
def test_quantity_limits_out_of_order_are_refused(min_qty: int, max_qty: int) -> None:
    assert market_error(min_qty=min_qty, max_qty=max_qty) == ("SOL_USDC: need 0 < minQty <= maxQty")


def test_a_max_quantity_beyond_exact_integers_is_refused() -> None:
    # 100,000 SOL units per lot.
    assert make_market(max_qty=MAX_UNITS // 100_000).max_qty == MAX_UNITS // 100_000
    assert market_error(max_qty=MAX_UNITS // 100_000 + 1) == (
        "SOL_USDC: maxQty is beyond exact integer range"
    )


def test_base_and_quote_must_differ() -> None:
    with pytest.raises(MarketError) as excinfo:
        MarketSpec(
            base=AssetSpec("USDC", 6),
            quote=AssetSpec("USDC", 6),
            tick_size=parse_decimal("0.01", "tickSize"),
            lot_size=parse_decimal("0.01", "lotSize"),
            min_qty=1,
            max_qty=10,
            min_notional=0,
            maker_fee_bps=0,
            taker_fee_bps=0,
        )
    assert str(excinfo.value) == "base and quote must differ, both are USDC"


# ------------------------------------------------------------------------------ fees


@pytest.mark.parametrize("bps", [0, 1, 1_000])
def test_fee_bps_from_0_to_1000_are_accepted(bps: int) -> None:
    market = make_market(maker_fee_bps=bps, taker_fee_bps=bps)
    assert (market.maker_fee_bps, market.taker_fee_bps) == (bps, bps)


@pytest.mark.parametrize("bps", [-1, 1_001, True, 10.0, "10", None])
def test_maker_fee_bps_out_of_range_is_refused(bps: object) -> None:
    assert market_error(maker_fee_bps=bps) == (f"SOL_USDC: makerFeeBps {bps!r} must be 0..1000")


@pytest.mark.parametrize("bps", [-1, 1_001, False, 20.0])
def test_taker_fee_bps_out_of_range_is_refused(bps: object) -> None:
    assert market_error(taker_fee_bps=bps) == (f"SOL_USDC: takerFeeBps {bps!r} must be 0..1000")


# ------------------------------------------------------------------------------ assets


@pytest.mark.parametrize("symbol", ["SO", "USDC", "X2", "ABCDEFGHIJ", "A1B2"])
def test_asset_symbols_of_2_to_10_capitals_and_digits_are_accepted(symbol: str) -> None:
    assert AssetSpec(symbol, 6).symbol == symbol


@pytest.mark.parametrize(
    "symbol", ["S", "sol", "Sol", "1INCH", "ABCDEFGHIJK", "SO-L", "SO_L", "", " SOL", "SOL\n"]
)
def test_bad_asset_symbols_are_refused(symbol: str) -> None:
    with pytest.raises(MarketError) as excinfo:
        AssetSpec(symbol, 6)
    assert str(excinfo.value) == f"asset symbol {symbol!r} must be 2-10 capitals and digits"


@pytest.mark.parametrize("symbol", [None, 5, b"SOL"])
def test_non_string_asset_symbols_are_refused(symbol: object) -> None:
    with pytest.raises(MarketError) as excinfo:
        AssetSpec(symbol, 6)  # type: ignore[arg-type]
    assert str(excinfo.value) == f"asset symbol {symbol!r} must be 2-10 capitals and digits"


@pytest.mark.parametrize("decimals", [0, 6, 18])
def test_asset_decimals_from_0_to_18_are_accepted(decimals: int) -> None:
    assert AssetSpec("SOL", decimals).decimals == decimals


@pytest.mark.parametrize("decimals", [-1, 19, 8.0, True, False, "8", None])
def test_bad_asset_decimals_are_refused(decimals: object) -> None:
    with pytest.raises(MarketError) as excinfo:
        AssetSpec("SOL", decimals)  # type: ignore[arg-type]
    assert str(excinfo.value) == (
        f"asset SOL decimals {decimals!r} must be an integer from 0 to 18"
    )


def test_an_asset_converts_and_formats_its_units() -> None:
    usdc = AssetSpec("USDC", 6)
    assert usdc.to_units("5") == 5_000_000
    assert usdc.format(5_000_000) == "5.000000"
    with pytest.raises(MoneyError) as excinfo:
        usdc.to_units("0.0000001", "deposit")
    assert str(excinfo.value) == "deposit: '0.0000001' has more than 6 decimal places"


# ------------------------------------------------------------------------------ example markets


@pytest.mark.parametrize(
    ("symbol", "per_lot", "per_tick_lot"),
    [
        ("SOL_USDC", 100_000, 10),  # lot 0.001 SOL; 0.01 USDC x 0.001 = 0.00001 USDC
        ("BTC_USDC", 1_000, 1),  # lot 0.00001 BTC; 0.1 USDC x 0.00001 = 0.000001 USDC
        ("ETH_USDC", 10_000, 1),  # lot 0.0001 ETH; 0.01 USDC x 0.0001 = 0.000001 USDC
    ],
)
def test_example_markets_derive_their_unit_sizes(
    examples: dict[str, MarketSpec], symbol: str, per_lot: int, per_tick_lot: int
) -> None:
    market = examples[symbol]
    assert market.base_units_per_lot == per_lot
    assert market.quote_units_per_tick_lot == per_tick_lot


@pytest.mark.parametrize(
    ("symbol", "ticks", "lots", "notional"),
    [
        ("SOL_USDC", 5_000, 100, 5_000_000),  # 50.00 x 0.1 = 5 USDC
        ("BTC_USDC", 650_000, 100, 65_000_000),  # 65000.0 x 0.001 = 65 USDC
        ("ETH_USDC", 300_000, 10_000, 3_000_000_000),  # 3000.00 x 1 = 3000 USDC
        ("SOL_USDC", 1, 1, 10),
        ("SOL_USDC", 0, 100, 0),
    ],
)
def test_notional_is_exact_in_quote_units(
    examples: dict[str, MarketSpec], symbol: str, ticks: int, lots: int, notional: int
) -> None:
    assert examples[symbol].notional(ticks, lots) == notional


def test_base_units_of_a_quantity(examples: dict[str, MarketSpec]) -> None:
    assert examples["SOL_USDC"].base_units(1_500) == 150_000_000  # 1.5 SOL
    assert examples["BTC_USDC"].base_units(1) == 1_000


@pytest.mark.parametrize(
    ("notional", "maker_fee", "taker_fee"),
    [(0, 0, 0), (5_000_000, 5_000, 10_000), (5_000_001, 5_001, 10_001), (1, 1, 1)],
)
def test_example_fees_are_rounded_up(
    examples: dict[str, MarketSpec], notional: int, maker_fee: int, taker_fee: int
) -> None:
    market = examples["SOL_USDC"]  # maker 10 bps, taker 20 bps
    assert market.fee(notional, maker=True) == maker_fee
    assert market.fee(notional, maker=False) == taker_fee


def test_a_buy_locks_the_notional_and_a_fee_reserve_per_lot(
    examples: dict[str, MarketSpec],
) -> None:
    market = examples["SOL_USDC"]
    # 1.5 SOL at 150.25: notional 225.375 USDC; one lot's notional 0.15025 USDC, whose 20 bps
    # round up to 301 units; 1,500 lots reserve 451,500 units.
    assert market.buy_lock(15_025, 1_500) == 225_375_000 + 451_500


def test_the_fee_reserve_uses_the_larger_fee() -> None:
    market = make_market(maker_fee_bps=25, taker_fee_bps=5)
    assert market.buy_lock(100, 1) == 1_000 + 3  # 1,000 units: 2.5 rounds up to 3


def test_a_sell_locks_its_base_quantity(examples: dict[str, MarketSpec]) -> None:
    assert examples["SOL_USDC"].sell_lock(1_500) == 150_000_000


@given(
    limit=st.integers(1, 10**6),
    fills=st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 1_000)), max_size=30),
    maker_bps=st.integers(0, 1_000),
    taker_bps=st.integers(0, 1_000),
)
def test_fees_rounded_up_on_every_fill_never_exceed_the_reserve(
    limit: int, fills: list[tuple[int, int]], maker_bps: int, taker_bps: int
) -> None:
    market = make_market(maker_fee_bps=maker_bps, taker_fee_bps=taker_bps, max_qty=10**9)
    lots = sum(qty for _, qty in fills) or 1
    spent = 0
    for index, (price, qty) in enumerate(fills):
        ticks = min(price, limit)  # a buy fills at its limit or better
        notional = market.notional(ticks, qty)
        spent += notional + market.fee(notional, maker=index % 2 == 0)
    assert spent <= market.buy_lock(limit, lots)


# ------------------------------------------------------------------------------ order filters


@pytest.mark.parametrize(
    ("symbol", "ticks", "lots"),
    [
        ("SOL_USDC", 5_000, 100),  # notional exactly 5 USDC
        ("SOL_USDC", 500_000, 10),  # quantity exactly the minimum 0.010
        ("SOL_USDC", 1, 100_000_000),  # quantity exactly the maximum 100000.000
        ("BTC_USDC", 50_000, 100),  # notional exactly 5 USDC
        ("BTC_USDC", 5_000_000, 1),  # quantity exactly the minimum 0.00001
        ("ETH_USDC", 5_000, 1_000),  # notional exactly 5 USDC
    ],
)
def test_orders_at_the_limits_pass(
    examples: dict[str, MarketSpec], symbol: str, ticks: int, lots: int
) -> None:
    examples[symbol].check_order(ticks, lots)


@pytest.mark.parametrize(
    ("symbol", "ticks", "lots", "message"),
    [
        ("SOL_USDC", 500_000, 9, "quantity 0.009 is below the minimum 0.010"),
        ("SOL_USDC", 500_000, 0, "quantity 0.000 is below the minimum 0.010"),
        ("BTC_USDC", 5_000_000, 0, "quantity 0.00000 is below the minimum 0.00001"),
        ("SOL_USDC", 1, 100_000_001, "quantity 100000.001 is above the maximum 100000.000"),
        ("ETH_USDC", 1, 100_000_001, "quantity 10000.0001 is above the maximum 10000.0000"),
        ("SOL_USDC", 4_999, 100, "notional 4.999000 USDC is below the minimum 5.000000"),
        ("SOL_USDC", 5_000, 99, "notional 4.950000 USDC is below the minimum 5.000000"),
        ("BTC_USDC", 49_999, 100, "notional 4.999900 USDC is below the minimum 5.000000"),
        ("BTC_USDC", 50_000, 99, "notional 4.950000 USDC is below the minimum 5.000000"),
        ("ETH_USDC", 4_999, 1_000, "notional 4.999000 USDC is below the minimum 5.000000"),
        ("ETH_USDC", 5_000, 999, "notional 4.995000 USDC is below the minimum 5.000000"),
    ],
)
def test_orders_past_the_limits_are_refused(
    examples: dict[str, MarketSpec], symbol: str, ticks: int, lots: int, message: str
) -> None:
    with pytest.raises(MarketError) as excinfo:
        examples[symbol].check_order(ticks, lots)
    assert str(excinfo.value) == message


def test_an_order_whose_notional_and_fee_pass_max_units_is_refused(
    examples: dict[str, MarketSpec],
) -> None:
    market = examples["SOL_USDC"]
    # 9,223,372,036 ticks x 10^8 lots x 10 units fits in 64 bits, but not with its fee.
    assert market.notional(9_223_372_036, 100_000_000) <= MAX_UNITS
    with pytest.raises(MarketError) as excinfo:
        market.check_order(9_223_372_036, 100_000_000)
    assert str(excinfo.value) == "order notional is beyond exact integer range"


# ------------------------------------------------------------------------------ conversions


@pytest.mark.parametrize(
    ("symbol", "price", "ticks"),
    [
        ("SOL_USDC", "123.45", 12_345),
        ("SOL_USDC", "0.01", 1),
        ("SOL_USDC", "20", 2_000),
        ("BTC_USDC", "65000.1", 650_001),
        ("BTC_USDC", "65000.10", 650_001),
        ("ETH_USDC", "3000.00", 300_000),
    ],
)
def test_price_to_ticks(
    examples: dict[str, MarketSpec], symbol: str, price: str, ticks: int
) -> None:
    assert examples[symbol].price_to_ticks(price) == ticks


@pytest.mark.parametrize(
    ("symbol", "quantity", "lots"),
    [
        ("SOL_USDC", "1.5", 1_500),
        ("SOL_USDC", "0.010", 10),
        ("BTC_USDC", "0.00001", 1),
        ("BTC_USDC", "1", 100_000),
        ("ETH_USDC", "0.0001", 1),
        ("ETH_USDC", "2.5", 25_000),
    ],
)
def test_quantity_to_lots(
    examples: dict[str, MarketSpec], symbol: str, quantity: str, lots: int
) -> None:
    assert examples[symbol].quantity_to_lots(quantity) == lots


@pytest.mark.parametrize(
    ("symbol", "ticks", "price"),
    [
        ("SOL_USDC", 12_345, "123.45"),
        ("SOL_USDC", 2_000, "20.00"),
        ("BTC_USDC", 650_001, "65000.1"),
        ("BTC_USDC", 650_000, "65000.0"),
        ("ETH_USDC", 300_000, "3000.00"),
    ],
)
def test_format_price(examples: dict[str, MarketSpec], symbol: str, ticks: int, price: str) -> None:
    assert examples[symbol].format_price(ticks) == price


@pytest.mark.parametrize(
    ("symbol", "lots", "quantity"),
    [
        ("SOL_USDC", 1_500, "1.500"),
        ("BTC_USDC", 1, "0.00001"),
        ("ETH_USDC", 25_000, "2.5000"),
    ],
)
def test_format_quantity(
    examples: dict[str, MarketSpec], symbol: str, lots: int, quantity: str
) -> None:
    assert examples[symbol].format_quantity(lots) == quantity


@pytest.mark.parametrize(
    ("symbol", "price", "reason"),
    [
        ("SOL_USDC", "123.455", "'123.455' is not a multiple of 0.01"),
        ("BTC_USDC", "65000.15", "'65000.15' is not a multiple of 0.1"),
        ("ETH_USDC", "0", "'0' must be greater than zero"),
        ("SOL_USDC", "1e2", "'1e2' uses an exponent; write the plain decimal"),
    ],
)
def test_price_to_ticks_refuses_with_the_price_field(
    examples: dict[str, MarketSpec], symbol: str, price: str, reason: str
) -> None:
    with pytest.raises(MoneyError) as excinfo:
        examples[symbol].price_to_ticks(price)
    assert (excinfo.value.field, excinfo.value.reason) == ("price", reason)


@pytest.mark.parametrize(
    ("symbol", "quantity", "reason"),
    [
        ("SOL_USDC", "0.0005", "'0.0005' is not a multiple of 0.001"),
        ("ETH_USDC", "0.00005", "'0.00005' is not a multiple of 0.0001"),
        ("BTC_USDC", "0.000001", "'0.000001' is not a multiple of 0.00001"),
        ("SOL_USDC", "-1", "'-1' is negative"),
    ],
)
def test_quantity_to_lots_refuses_with_the_quantity_field(
    examples: dict[str, MarketSpec], symbol: str, quantity: str, reason: str
) -> None:
    with pytest.raises(MoneyError) as excinfo:
        examples[symbol].quantity_to_lots(quantity)
    assert (excinfo.value.field, excinfo.value.reason) == ("quantity", reason)


def test_conversions_name_the_field_they_are_given(examples: dict[str, MarketSpec]) -> None:
    with pytest.raises(MoneyError) as excinfo:
        examples["SOL_USDC"].price_to_ticks("0.001", "protectionPrice")
    assert str(excinfo.value) == "protectionPrice: '0.001' is not a multiple of 0.01"
