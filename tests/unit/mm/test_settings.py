"""Settings: `CRYPTEX_MM_` variables; credentials required; markets and per-market amounts
written as lists or pairs; a bad value names its variable."""

from __future__ import annotations

import pytest

from cryptex.settings import ConfigError, load
from cryptex_mm.settings import MmSettings


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_MM_EMAIL", "mm@example.com")
    monkeypatch.setenv("CRYPTEX_MM_PASSWORD", "mm password")


def test_defaults() -> None:
    settings = load(MmSettings)
    assert settings.markets == ["SOL_USDC"]
    assert (settings.levels, settings.spread_bps, settings.level_step_bps) == (3, 20, 10)
    assert settings.metrics_port == 9104
    assert settings.cancel_on_exit
    assert settings.post_only
    assert "mm password" not in repr(settings)


@pytest.mark.parametrize("missing", ["CRYPTEX_MM_EMAIL", "CRYPTEX_MM_PASSWORD"])
def test_credentials_are_required(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        load(MmSettings)


def test_markets_are_a_comma_list_in_any_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_MM_MARKETS", "sol/usdc, BTC-USDC,ETH_USDC")
    assert load(MmSettings).markets == ["SOL_USDC", "BTC_USDC", "ETH_USDC"]
    monkeypatch.setenv("CRYPTEX_MM_MARKETS", '["SOL_USDC", "eth/usdc"]')
    assert load(MmSettings).markets == ["SOL_USDC", "ETH_USDC"]
    monkeypatch.setenv("CRYPTEX_MM_MARKETS", "SOL_USDC,sol-usdc")
    with pytest.raises(ConfigError, match="CRYPTEX_MM_MARKETS"):
        load(MmSettings)


def test_per_market_amounts_as_pairs_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTEX_MM_MARKETS", "SOL_USDC,BTC_USDC")
    monkeypatch.setenv("CRYPTEX_MM_PRICES", "sol_usdc=150.25, BTC_USDC=60000")
    monkeypatch.setenv("CRYPTEX_MM_SIZES", '{"BTC_USDC": 0.001}')
    settings = load(MmSettings)
    assert settings.prices == {"SOL_USDC": "150.25", "BTC_USDC": "60000"}
    assert settings.sizes == {"BTC_USDC": "0.001"}  # a JSON number kept as written


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CRYPTEX_MM_PRICES", "ETH_USDC=3000"), ("CRYPTEX_MM_SIZES", "SOL_USDC=1e3"),
     ("CRYPTEX_MM_TARGETS", "SOL_USDC"), ("CRYPTEX_MM_INVENTORY_LIMITS", "SOL_USDC=-1"),
     ("CRYPTEX_MM_SIZE_NOTIONAL", "0"), ("CRYPTEX_MM_LEVELS", "0"),
     ("CRYPTEX_MM_SKEW_BPS", "9000")],
)  # fmt: skip
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load(MmSettings)
