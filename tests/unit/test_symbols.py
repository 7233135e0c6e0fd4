"""Every spelling of a market symbol a user may type names one canonical symbol, or is refused."""

from __future__ import annotations

import pytest

from cryptex.markets import MarketError, canonical_symbol


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("sol/usdc", "SOL_USDC"),
        ("SOL-USDC", "SOL_USDC"),
        ("SOL_USDC", "SOL_USDC"),
        ("Sol_Usdc", "SOL_USDC"),
        (" sol/usdc ", "SOL_USDC"),
        ("sol-usdc", "SOL_USDC"),
        ("btc/usdc\n", "BTC_USDC"),
        ("Sol2/usdc", "SOL2_USDC"),
        ("AB_CD", "AB_CD"),
        ("ABCDEFGHIJ_USDC", "ABCDEFGHIJ_USDC"),
    ],
)
def test_canonical_symbol_accepts_the_usual_spellings(text: str, symbol: str) -> None:
    assert canonical_symbol(text) == symbol


@pytest.mark.parametrize(
    "text",
    [
        "SOLUSDC",
        "SOL",
        "SOL__USDC",
        "SOL/USDC/X",
        "",
        "S/U",
        "S/USDC",
        "SOL/U",
        "SOL USDC",
        "SOL_USDC_",
        "_SOL_USDC",
        "1INCH_USDC",
        "ABCDEFGHIJK_USDC",
        "SOL.USDC",
    ],
)
def test_canonical_symbol_refuses_other_text(text: str) -> None:
    with pytest.raises(MarketError) as excinfo:
        canonical_symbol(text)
    assert str(excinfo.value) == (
        f"{text!r} is not a market symbol like SOL_USDC, sol/usdc or SOL-USDC"
    )


@pytest.mark.parametrize("value", [None, 5, b"SOL_USDC", ("SOL", "USDC")])
def test_canonical_symbol_refuses_non_strings(value: object) -> None:
    with pytest.raises(MarketError) as excinfo:
        canonical_symbol(value)  # type: ignore[arg-type]
    assert str(excinfo.value) == (
        f"{value!r} is not a market symbol like SOL_USDC, sol/usdc or SOL-USDC"
    )
