"""Fees are rounded up, in the exchange's favour, and never by more than one unit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptex.money import BPS_PER_UNIT, MAX_UNITS, fee_units


@pytest.mark.parametrize(
    ("notional", "bps", "fee"),
    [
        (0, 10, 0),
        (0, 0, 0),
        (1, 1, 1),
        (9_999, 1, 1),
        (10_000, 1, 1),
        (10_001, 1, 2),
        (10_000, 10, 10),
        (10_001, 10, 11),
        (1_000_000, 0, 0),
        (5_000_000, 10, 5_000),
        (5_000_001, 10, 5_001),
        (5_000_000, 20, 10_000),
        (1, 1_000, 1),
        (10, 1_000, 1),
        (11, 1_000, 2),
    ],
)
def test_fee_units_rounds_up(notional: int, bps: int, fee: int) -> None:
    assert fee_units(notional, bps) == fee


def test_bps_per_unit_is_ten_thousand() -> None:
    assert BPS_PER_UNIT == 10_000


@given(
    notional=st.integers(min_value=0, max_value=MAX_UNITS),
    bps=st.integers(min_value=0, max_value=1_000),
)
def test_fee_is_the_smallest_integer_not_below_the_exact_fee(notional: int, bps: int) -> None:
    fee = fee_units(notional, bps)
    assert fee * BPS_PER_UNIT >= notional * bps > (fee - 1) * BPS_PER_UNIT
