"""Decimal strings in, exact integers out: what `cryptex.money` accepts, refuses, and prints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cryptex.money import (
    MAX_DECIMALS,
    MAX_INTEGER_DIGITS,
    MAX_UNITS,
    ExactDecimal,
    MoneyError,
    format_steps,
    format_units,
    parse_decimal,
    to_steps,
    to_units,
)

FIELD = "amount"


def refusal(value: object, decimals: int = 6, *, allow_zero: bool = False) -> MoneyError:
    """The MoneyError that `to_units` raises for `value` in the field `amount`."""
    with pytest.raises(MoneyError) as excinfo:
        to_units(value, decimals, FIELD, allow_zero=allow_zero)
    assert excinfo.value.field == FIELD
    return excinfo.value


# ------------------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", ExactDecimal(12, 0)),
        ("0.015", ExactDecimal(15, 3)),
        ("1.5", ExactDecimal(15, 1)),
        ("1.500", ExactDecimal(15, 1)),
        ("10", ExactDecimal(10, 0)),
        ("10.0", ExactDecimal(10, 0)),
        ("000.50", ExactDecimal(5, 1)),
        ("0", ExactDecimal(0, 0)),
        ("0.000", ExactDecimal(0, 0)),
        ("0.000000000000000001", ExactDecimal(1, 18)),
        ("999999999999999999", ExactDecimal(999_999_999_999_999_999, 0)),
    ],
)
def test_parse_decimal_keeps_the_exact_value_without_trailing_zeros(
    text: str, expected: ExactDecimal
) -> None:
    assert parse_decimal(text, FIELD) == expected


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("1", 0, 1),
        ("1", 6, 1_000_000),
        ("1.5", 6, 1_500_000),
        ("0.000001", 6, 1),
        ("123.456789", 6, 123_456_789),
        ("12", 8, 1_200_000_000),
        ("007", 2, 700),
        ("0.1", 1, 1),
        ("922337203685477580.7", 1, MAX_UNITS),
        ("92233720368.54775807", 8, MAX_UNITS),
        ("9.223372036854775807", 18, MAX_UNITS),
        ("0.000000000000000001", 18, 1),
        ("0000000000000000000000000001", 0, 1),  # leading zeros are not integer digits
    ],
)
def test_to_units_gives_the_exact_integer(text: str, decimals: int, units: int) -> None:
    assert to_units(text, decimals, FIELD) == units


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("1.500", 1, 15),
        ("1.500", 6, 1_500_000),
        ("2.000000", 0, 2),
        ("0.10", 1, 1),
    ],
)
def test_trailing_zeros_are_not_decimal_places(text: str, decimals: int, units: int) -> None:
    assert to_units(text, decimals, FIELD) == units


@pytest.mark.parametrize("text", ["0", "0.0", "0.000000", "000"])
def test_zero_is_accepted_when_allowed(text: str) -> None:
    assert to_units(text, 6, FIELD, allow_zero=True) == 0


# ------------------------------------------------------------------------------ refused


@pytest.mark.parametrize("text", ["0", "0.0", "0.000000", "000"])
def test_zero_is_refused_unless_allowed(text: str) -> None:
    error = refusal(text)
    assert error.reason == f"{text!r} must be greater than zero"
    assert str(error) == f"amount: {text!r} must be greater than zero"


@pytest.mark.parametrize("text", ["-5", "-0.5", "-0", "-1e3"])
def test_negative_amounts_are_refused(text: str) -> None:
    assert refusal(text).reason == f"{text!r} is negative"


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "-nan",
        "Infinity",
        "inf",
        "-inf",
        "+inf",
        " nan",
        # The set of spellings lists "+infinity" but not "-infinity": see the report.
        "-Infinity",
    ],
)
def test_non_finite_numbers_are_refused(text: str) -> None:
    assert refusal(text).reason == f"{text!r} is not a finite number"


@pytest.mark.parametrize("text", ["1e3", "1.5E-2", "1E+3", "+1e3", "5.e2"])
def test_exponent_forms_are_refused(text: str) -> None:
    assert refusal(text).reason == f"{text!r} uses an exponent; write the plain decimal"


@pytest.mark.parametrize("text", ["+5", "+0.5"])
def test_a_plus_sign_is_refused(text: str) -> None:
    assert refusal(text).reason == f"{text!r} has a sign; write the plain decimal"


@pytest.mark.parametrize("text", [" 5", "5 ", "\t5", "5\n", " 5 "])
def test_surrounding_whitespace_is_refused(text: str) -> None:
    assert refusal(text).reason == f"{text!r} has surrounding whitespace"


def test_the_empty_string_is_refused() -> None:
    assert refusal("").reason == "empty string"


@pytest.mark.parametrize(
    "text", [".5", "5.", "1,000", "1_000", "1.2.3", "0x10", "five", "5 000", "\u0661", "1/2"]
)
def test_other_forms_are_not_plain_decimals(text: str) -> None:
    assert refusal(text).reason == f"{text!r} is not a plain decimal number"


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("1.1234567", 6),
        ("0.5", 0),
        ("0.000000001", 8),
        ("1.05", 1),
    ],
)
def test_more_places_than_the_asset_has_are_refused(text: str, decimals: int) -> None:
    assert refusal(text, decimals).reason == f"{text!r} has more than {decimals} decimal places"


@pytest.mark.parametrize(
    "text",
    [
        "0.0000000000000000001",  # 19 places
        "1.0000000000000000000",  # 19 places, even though they are zeros
    ],
)
def test_more_than_18_fraction_digits_are_refused(text: str) -> None:
    assert refusal(text, MAX_DECIMALS).reason == f"{text!r} has more than 18 decimal places"


@pytest.mark.parametrize(
    "text",
    [
        "1" + "0" * MAX_INTEGER_DIGITS,  # 20 integer digits
        "9" * 20 + ".5",
    ],
)
def test_more_than_19_integer_digits_are_too_large(text: str) -> None:
    assert refusal(text, 0).reason == f"{text!r} is too large"


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("922337203685477580.8", 1),  # MAX_UNITS + 1
        ("92233720368.54775808", 8),  # MAX_UNITS + 1 units
        ("100000000000", 8),  # 10^19 units
        ("999999999999999999", 2),  # 18 digits parse, but make 10^20 units
    ],
)
def test_amounts_above_max_units_are_too_large(text: str, decimals: int) -> None:
    assert refusal(text, decimals).reason == f"{text!r} is too large"


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (5, "int"),
        (1.5, "float"),
        (Decimal("1.5"), "Decimal"),
        (None, "NoneType"),
        (b"5", "bytes"),
        (True, "bool"),
    ],
)
def test_non_strings_are_refused_with_their_type(value: object, type_name: str) -> None:
    assert refusal(value).reason == f"expected a decimal string, got {type_name}"


def test_a_huge_run_of_leading_zeros_is_a_money_error() -> None:
    # 5,000 leading zeros pass the integer-digit limit (they are stripped before counting) and
    # then overflow int()'s 4,300-digit limit with a bare ValueError: see the report.
    refusal("0" * 5000 + "1", 0)


# ------------------------------------------------------------------------------ steps


@pytest.mark.parametrize(
    ("text", "step", "steps"),
    [
        ("123.45", "0.01", 12345),
        ("0.01", "0.01", 1),
        ("1", "0.01", 100),
        ("1.50", "0.01", 150),
        ("2.5", "0.5", 5),
        ("100", "25", 4),
        ("0.010", "0.001", 10),
        ("65000.1", "0.1", 650001),
        ("9.223372036854775807", "0.000000000000000001", MAX_UNITS),
    ],
)
def test_to_steps_counts_whole_steps(text: str, step: str, steps: int) -> None:
    assert to_steps(text, parse_decimal(step, "step"), FIELD) == steps


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("123.455", "0.01"),
        ("2.4", "0.5"),
        ("30", "25"),
        ("0.0005", "0.001"),
        ("0.000001", "0.1"),
    ],
)
def test_to_steps_refuses_a_value_off_the_step(text: str, step: str) -> None:
    with pytest.raises(MoneyError) as excinfo:
        to_steps(text, parse_decimal(step, "step"), "price")
    assert excinfo.value.field == "price"
    assert excinfo.value.reason == f"{text!r} is not a multiple of {step}"
    assert str(excinfo.value) == f"price: {text!r} is not a multiple of {step}"


def test_to_steps_refuses_zero_unless_allowed() -> None:
    tick = parse_decimal("0.01", "tickSize")
    with pytest.raises(MoneyError) as excinfo:
        to_steps("0.00", tick, "price")
    assert excinfo.value.reason == "'0.00' must be greater than zero"
    assert to_steps("0.00", tick, "price", allow_zero=True) == 0


def test_to_steps_refuses_more_than_max_units_steps() -> None:
    step = parse_decimal("0.000000000000000001", "step")
    with pytest.raises(MoneyError) as excinfo:
        to_steps("9.223372036854775808", step, "quantity")
    assert excinfo.value.reason == "'9.223372036854775808' is too large"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "'-1' is negative"),
        ("1e2", "'1e2' uses an exponent; write the plain decimal"),
        (100, "expected a decimal string, got int"),
    ],
)
def test_to_steps_refuses_what_parse_decimal_refuses(value: object, reason: str) -> None:
    with pytest.raises(MoneyError) as excinfo:
        to_steps(value, parse_decimal("0.01", "tickSize"), "price")
    assert excinfo.value.reason == reason


# ------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (0, 0, "0"),
        (5, 0, "5"),
        (0, 2, "0.00"),
        (5, 2, "0.05"),
        (150, 2, "1.50"),
        (1_500_000, 6, "1.500000"),
        (1, 18, "0.000000000000000001"),
        (MAX_UNITS, 8, "92233720368.54775807"),
        (-150, 2, "-1.50"),
    ],
)
def test_format_units_prints_exactly_decimals_places(units: int, decimals: int, text: str) -> None:
    assert format_units(units, decimals) == text


@pytest.mark.parametrize(
    ("count", "step", "text"),
    [
        (12345, "0.01", "123.45"),
        (1500, "0.001", "1.500"),
        (3, "0.5", "1.5"),
        (4, "25", "100"),
        (0, "0.01", "0.00"),
        (650001, "0.1", "65000.1"),
    ],
)
def test_format_steps_prints_the_steps_places(count: int, step: str, text: str) -> None:
    assert format_steps(count, parse_decimal(step, "step")) == text


def test_exact_decimal_prints_as_its_plain_decimal() -> None:
    assert str(parse_decimal("0.0100", "tickSize")) == "0.01"


# ------------------------------------------------------------------------------ round trips


@given(
    units=st.integers(min_value=0, max_value=MAX_UNITS),
    decimals=st.integers(min_value=0, max_value=MAX_DECIMALS),
)
def test_units_round_trip_through_their_string(units: int, decimals: int) -> None:
    assert to_units(format_units(units, decimals), decimals, FIELD, allow_zero=True) == units


@given(
    count=st.integers(min_value=0, max_value=MAX_UNITS),
    step_digits=st.integers(min_value=1, max_value=10**6),
    step_scale=st.integers(min_value=0, max_value=MAX_DECIMALS),
)
def test_steps_round_trip_through_their_string(
    count: int, step_digits: int, step_scale: int
) -> None:
    step = parse_decimal(format_units(step_digits, step_scale), "step")
    text = format_steps(count, step)
    # A string past 19 integer digits is refused whatever it counts; it is not a round trip.
    assume(len(text.split(".")[0].lstrip("0")) <= MAX_INTEGER_DIGITS)
    assert to_steps(text, step, FIELD, allow_zero=True) == count
