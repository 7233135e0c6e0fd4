"""Exact money: decimal strings at the edges, integers everywhere inside.

A balance is an integer count of 10^-decimals units of its asset; a price is an integer number of
ticks and a quantity an integer number of lots (see `cryptex.markets`). This module turns decimal
strings into those integers and back, and computes fees.

It never rounds a value a user sent: a string that is not exactly representable is refused with
a message that says which field and why. It never touches a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# The largest amount in units, ticks or lots: what a Redis integer (HINCRBY) holds. The ledger's
# scripts add and compare amounts as exact 64-bit text, never as Lua's doubles.
MAX_UNITS: Final = 2**63 - 1
# Past these lengths a string is a typo or an attack, never an amount.
MAX_INTEGER_DIGITS: Final = 19  # as many as 2^63 - 1 has
MAX_FRACTION_DIGITS: Final = 18
MAX_DECIMALS: Final = 18

BPS_PER_UNIT: Final = 10_000

_DECIMAL = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_EXPONENT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
# Longer strings are refused before any conversion: int() of thousands of digits is slow (and
# limited by Python itself).
_MAX_LENGTH = 64


class MoneyError(ValueError):
    """A decimal string that cannot be an exact amount of the field it was given for."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


@dataclass(frozen=True, slots=True)
class ExactDecimal:
    """A non-negative decimal `digits * 10^-scale`, kept exactly as integers."""

    digits: int
    scale: int

    def __str__(self) -> str:
        return format_units(self.digits, self.scale)

    def is_zero(self) -> bool:
        return self.digits == 0

    def scaled(self, decimals: int) -> tuple[int, int]:
        """(quotient, remainder) of this value times 10^decimals divided into integer units."""
        if decimals >= self.scale:
            return self.digits * 10 ** (decimals - self.scale), 0
        divisor: int = 10 ** (self.scale - decimals)
        return divmod(self.digits, divisor)


def parse_decimal(value: object, field: str) -> ExactDecimal:
    """Parse a plain decimal string (`"12"`, `"0.015"`), refusing anything else precisely."""
    if not isinstance(value, str):
        raise MoneyError(field, f"expected a decimal string, got {type(value).__name__}")
    if len(value) > _MAX_LENGTH:
        raise MoneyError(field, f"{value[:20]!r}... is longer than {_MAX_LENGTH} characters")
    match = _DECIMAL.fullmatch(value)
    if match is None:
        raise MoneyError(field, _why_not_decimal(value))
    integer, fraction = match["int"], match["frac"] or ""
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise MoneyError(field, f"{value!r} is too large")
    if len(fraction) > MAX_FRACTION_DIGITS:
        raise MoneyError(field, f"{value!r} has more than {MAX_FRACTION_DIGITS} decimal places")
    fraction = fraction.rstrip("0")
    return ExactDecimal(int(integer + fraction), len(fraction))


def _why_not_decimal(value: str) -> str:
    text = value.strip().lower()
    if text.lstrip("+-") in _NON_FINITE:
        return f"{value!r} is not a finite number"
    if value != value.strip():
        return f"{value!r} has surrounding whitespace"
    if text.startswith("-"):
        return f"{value!r} is negative"
    if _EXPONENT.fullmatch(text):
        return f"{value!r} uses an exponent; write the plain decimal"
    if text.startswith("+"):
        return f"{value!r} has a sign; write the plain decimal"
    if text == "":
        return "empty string"
    return f"{value!r} is not a plain decimal number"


def to_units(value: object, decimals: int, field: str, *, allow_zero: bool = False) -> int:
    """A decimal string as an integer count of 10^-decimals units, refused unless exact."""
    amount = parse_decimal(value, field)
    units, remainder = amount.scaled(decimals)
    if remainder:
        raise MoneyError(field, f"{value!r} has more than {decimals} decimal places")
    return _checked(units, value, field, allow_zero)


def to_steps(value: object, step: ExactDecimal, field: str, *, allow_zero: bool = False) -> int:
    """A decimal string as a whole number of `step`s (ticks, lots), refused if off the step."""
    amount = parse_decimal(value, field)
    # amount / step = (a * 10^-sa) / (s * 10^-ss) = a * 10^ss / (s * 10^sa)
    numerator = amount.digits * 10**step.scale
    denominator = step.digits * 10**amount.scale
    steps, remainder = divmod(numerator, denominator)
    if remainder:
        raise MoneyError(field, f"{value!r} is not a multiple of {step}")
    return _checked(steps, value, field, allow_zero)


def _checked(count: int, value: object, field: str, allow_zero: bool) -> int:
    if count == 0 and not allow_zero:
        raise MoneyError(field, f"{value!r} must be greater than zero")
    if count > MAX_UNITS:
        raise MoneyError(field, f"{value!r} is too large")
    return count


def format_units(units: int, decimals: int) -> str:
    """Integer units as a plain decimal string with exactly `decimals` places."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def format_steps(count: int, step: ExactDecimal) -> str:
    """A whole number of steps as a decimal string with the step's number of places."""
    return format_units(count * step.digits, step.scale)


def fee_units(notional: int, bps: int) -> int:
    """The fee on a notional in basis points, rounded up in the exchange's favour."""
    return -(-notional * bps // BPS_PER_UNIT)
