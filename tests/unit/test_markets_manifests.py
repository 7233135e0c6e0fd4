"""`Market` manifests: the examples load as the markets they describe; bad ones say why."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cryptex.markets import (
    AssetSpec,
    MarketError,
    MarketSpec,
    load_manifest,
    load_manifests,
)
from cryptex.money import ExactDecimal
from cryptex.wire import OrderType, TradingState

EXAMPLES = Path(__file__).resolve().parents[2] / "crds" / "examples"

SOL_USDC: dict[str, Any] = {
    "apiVersion": "cryptex.io/v1alpha1",
    "kind": "Market",
    "metadata": {"name": "sol-usdc"},
    "spec": {
        "base": {"symbol": "SOL", "decimals": 8},
        "quote": {"symbol": "USDC", "decimals": 6},
        "tickSize": "0.01",
        "lotSize": "0.001",
        "minQty": "0.01",
        "maxQty": "100000",
        "minNotional": "5",
        "makerFeeBps": 10,
        "takerFeeBps": 20,
        "tradingState": "Active",
    },
}
# BTC_USDC on a USDC with 2 decimals: a valid market by itself, but not next to SOL_USDC.
BTC_USDC_2: dict[str, Any] = {
    "apiVersion": "cryptex.io/v1alpha1",
    "kind": "Market",
    "metadata": {"name": "btc-usdc"},
    "spec": {
        "base": {"symbol": "BTC", "decimals": 8},
        "quote": {"symbol": "USDC", "decimals": 2},
        "tickSize": "1",
        "lotSize": "0.01",
        "minQty": "0.01",
        "maxQty": "1000",
        "minNotional": "5",
        "makerFeeBps": 10,
        "takerFeeBps": 20,
    },
}
# ETH priced in SOL with 9 decimals where SOL_USDC says 8.
ETH_SOL_9: dict[str, Any] = {
    "apiVersion": "cryptex.io/v1alpha1",
    "kind": "Market",
    "spec": {
        "base": {"symbol": "ETH", "decimals": 8},
        "quote": {"symbol": "SOL", "decimals": 9},
        "tickSize": "0.001",
        "lotSize": "0.001",
        "minQty": "0.001",
        "maxQty": "1000",
        "minNotional": "0",
        "makerFeeBps": 10,
        "takerFeeBps": 20,
    },
}
REQUIRED_FIELDS = (
    "base",
    "quote",
    "tickSize",
    "lotSize",
    "minQty",
    "maxQty",
    "minNotional",
    "makerFeeBps",
    "takerFeeBps",
)


def sol_manifest() -> dict[str, Any]:
    return copy.deepcopy(SOL_USDC)


def refusal(manifest: object) -> str:
    with pytest.raises(MarketError) as excinfo:
        MarketSpec.from_manifest(manifest)  # type: ignore[arg-type]
    assert excinfo.type is MarketError  # a MoneyError is translated, never leaked
    return str(excinfo.value)


def write(directory: Path, name: str, manifest: dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the examples


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (
            "sol-usdc.yaml",
            MarketSpec(
                base=AssetSpec("SOL", 8),
                quote=AssetSpec("USDC", 6),
                tick_size=ExactDecimal(1, 2),
                lot_size=ExactDecimal(1, 3),
                min_qty=10,
                max_qty=100_000_000,
                min_notional=5_000_000,
                maker_fee_bps=10,
                taker_fee_bps=20,
                trading_state=TradingState.ACTIVE,
            ),
        ),
        (
            "btc-usdc.yaml",
            MarketSpec(
                base=AssetSpec("BTC", 8),
                quote=AssetSpec("USDC", 6),
                tick_size=ExactDecimal(1, 1),
                lot_size=ExactDecimal(1, 5),
                min_qty=1,
                max_qty=100_000_000,
                min_notional=5_000_000,
                maker_fee_bps=10,
                taker_fee_bps=20,
                trading_state=TradingState.ACTIVE,
            ),
        ),
        (
            "eth-usdc.yaml",
            MarketSpec(
                base=AssetSpec("ETH", 8),
                quote=AssetSpec("USDC", 6),
                tick_size=ExactDecimal(1, 2),
                lot_size=ExactDecimal(1, 4),
                min_qty=1,
                max_qty=100_000_000,
                min_notional=5_000_000,
                maker_fee_bps=10,
                taker_fee_bps=20,
                trading_state=TradingState.ACTIVE,
            ),
        ),
    ],
)
def test_each_example_loads_as_the_market_it_describes(file: str, expected: MarketSpec) -> None:
    assert load_manifest(EXAMPLES / file) == expected


@pytest.mark.parametrize(
    ("file", "symbol", "resource_name"),
    [
        ("sol-usdc.yaml", "SOL_USDC", "sol-usdc"),
        ("btc-usdc.yaml", "BTC_USDC", "btc-usdc"),
        ("eth-usdc.yaml", "ETH_USDC", "eth-usdc"),
    ],
)
def test_each_example_has_its_symbol_and_resource_name(
    file: str, symbol: str, resource_name: str
) -> None:
    market = load_manifest(EXAMPLES / file)
    assert (market.symbol, market.resource_name) == (symbol, resource_name)


def test_the_examples_directory_loads_every_market_by_symbol() -> None:
    markets = load_manifests(EXAMPLES)
    assert sorted(markets) == ["BTC_USDC", "ETH_USDC", "SOL_USDC"]
    assert {symbol: market.symbol for symbol, market in markets.items()} == {
        "BTC_USDC": "BTC_USDC",
        "ETH_USDC": "ETH_USDC",
        "SOL_USDC": "SOL_USDC",
    }


# ------------------------------------------------------------------------------ accepted variants


def test_a_missing_trading_state_defaults_to_active() -> None:
    manifest = sol_manifest()
    del manifest["spec"]["tradingState"]
    assert MarketSpec.from_manifest(manifest).trading_state is TradingState.ACTIVE


@pytest.mark.parametrize("state", list(TradingState))
def test_every_trading_state_is_accepted_by_its_value(state: TradingState) -> None:
    manifest = sol_manifest()
    manifest["spec"]["tradingState"] = state.value
    assert MarketSpec.from_manifest(manifest).trading_state is state


@pytest.mark.parametrize("metadata", [{}, {"labels": {"team": "x"}}])
def test_metadata_without_a_name_is_accepted(metadata: dict[str, Any]) -> None:
    manifest = sol_manifest()
    manifest["metadata"] = metadata
    assert MarketSpec.from_manifest(manifest).symbol == "SOL_USDC"


def test_a_manifest_without_metadata_is_accepted() -> None:
    manifest = sol_manifest()
    del manifest["metadata"]
    assert MarketSpec.from_manifest(manifest).symbol == "SOL_USDC"


def test_a_zero_min_notional_is_accepted() -> None:
    manifest = sol_manifest()
    manifest["spec"]["minNotional"] = "0"
    assert MarketSpec.from_manifest(manifest).min_notional == 0


# ------------------------------------------------------------------------------ refused


@pytest.mark.parametrize("manifest", [None, [], "Market", 5])
def test_a_manifest_that_is_not_a_mapping_is_refused(manifest: object) -> None:
    assert refusal(manifest) == "a Market manifest must be a mapping"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "apiVersion",
            "cryptex.io/v1",
            "expected apiVersion cryptex.io/v1alpha1 and kind Market, "
            "got 'cryptex.io/v1' and 'Market'",
        ),
        (
            "kind",
            "Exchange",
            "expected apiVersion cryptex.io/v1alpha1 and kind Market, "
            "got 'cryptex.io/v1alpha1' and 'Exchange'",
        ),
        (
            "apiVersion",
            None,
            "expected apiVersion cryptex.io/v1alpha1 and kind Market, got None and 'Market'",
        ),
    ],
)
def test_a_wrong_api_version_or_kind_is_refused(key: str, value: object, message: str) -> None:
    manifest = sol_manifest()
    manifest[key] = value
    assert refusal(manifest) == message


def test_a_missing_kind_is_refused() -> None:
    manifest = sol_manifest()
    del manifest["kind"]
    assert refusal(manifest) == (
        "expected apiVersion cryptex.io/v1alpha1 and kind Market, "
        "got 'cryptex.io/v1alpha1' and None"
    )


def test_a_missing_spec_is_refused() -> None:
    manifest = sol_manifest()
    del manifest["spec"]
    assert refusal(manifest) == "a Market manifest needs a spec mapping"


@pytest.mark.parametrize("spec", [None, "SOL_USDC", ["tickSize"]])
def test_a_spec_that_is_not_a_mapping_is_refused(spec: object) -> None:
    manifest = sol_manifest()
    manifest["spec"] = spec
    assert refusal(manifest) == "a Market manifest needs a spec mapping"


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_each_missing_required_field_is_named(field: str) -> None:
    manifest = sol_manifest()
    del manifest["spec"][field]
    assert refusal(manifest) == f"spec.{field} is required"


@pytest.mark.parametrize(
    ("key", "asset"),
    [
        ("base", {"symbol": "SOL"}),
        ("base", {"decimals": 8}),
        ("quote", "USDC"),
        ("quote", None),
    ],
)
def test_an_asset_without_symbol_and_decimals_is_refused(key: str, asset: object) -> None:
    manifest = sol_manifest()
    manifest["spec"][key] = asset
    assert refusal(manifest) == f"spec.{key} needs symbol and decimals"


@pytest.mark.parametrize(
    ("asset", "message"),
    [
        ({"symbol": "sol", "decimals": 8}, "asset symbol 'sol' must be 2-10 capitals and digits"),
        (
            {"symbol": "SOL", "decimals": 19},
            "asset SOL decimals 19 must be an integer from 0 to 18",
        ),
        (
            {"symbol": "SOL", "decimals": "8"},
            "asset SOL decimals '8' must be an integer from 0 to 18",
        ),
    ],
)
def test_a_bad_asset_is_refused(asset: dict[str, Any], message: str) -> None:
    manifest = sol_manifest()
    manifest["spec"]["base"] = asset
    assert refusal(manifest) == message


@pytest.mark.parametrize("state", ["Open", "active", "ACTIVE", "", None, 1])
def test_a_bad_trading_state_lists_the_allowed_ones(state: object) -> None:
    manifest = sol_manifest()
    manifest["spec"]["tradingState"] = state
    assert refusal(manifest) == (
        f"tradingState {state!r} is not one of PreOpen, Active, CancelOnly, Halted, Closed"
    )


@pytest.mark.parametrize("name", ["btc-usdc", "SOL_USDC", "sol_usdc", "solusdc"])
def test_a_metadata_name_that_does_not_match_the_symbol_is_refused(name: str) -> None:
    manifest = sol_manifest()
    manifest["metadata"]["name"] = name
    assert refusal(manifest) == f"metadata.name {name!r} must be 'sol-usdc' for SOL_USDC"


@pytest.mark.parametrize("metadata", [None, "sol-usdc", ["sol-usdc"]])
def test_metadata_that_is_not_a_mapping_is_refused(metadata: object) -> None:
    # `metadata:` left empty in YAML is None; from_manifest calls .get on it: see the report.
    manifest = sol_manifest()
    manifest["metadata"] = metadata
    assert "metadata" in refusal(manifest)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tickSize", "0.001x", "tickSize: '0.001x' is not a plain decimal number"),
        ("tickSize", 0.01, "tickSize: expected a decimal string, got float"),
        ("lotSize", "1e-3", "lotSize: '1e-3' uses an exponent; write the plain decimal"),
        ("minQty", "0.0105", "minQty: '0.0105' is not a multiple of 0.001"),
        ("minQty", "0", "minQty: '0' must be greater than zero"),
        ("minQty", 5, "minQty: expected a decimal string, got int"),
        ("maxQty", "-1", "maxQty: '-1' is negative"),
        ("minNotional", "5.0000001", "minNotional: '5.0000001' has more than 6 decimal places"),
        ("tickSize", "0", "tickSize and lotSize must be greater than zero"),
        ("lotSize", "0.000", "tickSize and lotSize must be greater than zero"),
        ("makerFeeBps", "10", "SOL_USDC: makerFeeBps '10' must be 0..1000"),
        ("takerFeeBps", 1001, "SOL_USDC: takerFeeBps 1001 must be 0..1000"),
        ("maxQty", "0.001", "SOL_USDC: need 0 < minQty <= maxQty"),
    ],
)
def test_a_bad_amount_is_refused_naming_its_field(field: str, value: object, message: str) -> None:
    manifest = sol_manifest()
    manifest["spec"][field] = value
    assert refusal(manifest) == message


# ------------------------------------------------------------------------------ files


def test_load_manifest_reads_a_yaml_file(tmp_path: Path) -> None:
    path = write(tmp_path, "sol-usdc.yaml", sol_manifest())
    assert load_manifest(path) == MarketSpec.from_manifest(sol_manifest())


def test_load_manifest_refuses_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(MarketError) as excinfo:
        load_manifest(path)
    assert str(excinfo.value) == "a Market manifest must be a mapping"


def test_load_manifests_reads_only_yaml_files(tmp_path: Path) -> None:
    write(tmp_path, "sol-usdc.yaml", sol_manifest())
    (tmp_path / "README.md").write_text("not a manifest", encoding="utf-8")
    write(tmp_path, "ignored.yml", {"kind": "NotAMarket"})
    assert list(load_manifests(tmp_path)) == ["SOL_USDC"]


def test_load_manifests_of_an_empty_directory_is_empty(tmp_path: Path) -> None:
    assert load_manifests(tmp_path) == {}


def test_load_manifests_refuses_a_market_defined_twice(tmp_path: Path) -> None:
    write(tmp_path, "a-sol.yaml", sol_manifest())
    write(tmp_path, "b-sol.yaml", sol_manifest())
    with pytest.raises(MarketError) as excinfo:
        load_manifests(tmp_path)
    assert str(excinfo.value) == "b-sol.yaml: market SOL_USDC is defined twice"


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (BTC_USDC_2, "b.yaml: USDC has 2 decimals here but 6 in another market"),
        (ETH_SOL_9, "b.yaml: SOL has 9 decimals here but 8 in another market"),
    ],
)
def test_load_manifests_refuses_an_asset_with_different_decimals(
    tmp_path: Path, second: dict[str, Any], message: str
) -> None:
    # Each second manifest is a valid market on its own.
    assert MarketSpec.from_manifest(second).symbol in {"BTC_USDC", "ETH_SOL"}
    write(tmp_path, "a.yaml", sol_manifest())
    write(tmp_path, "b.yaml", second)
    with pytest.raises(MarketError) as excinfo:
        load_manifests(tmp_path)
    assert str(excinfo.value) == message


def test_a_market_takes_every_order_type_unless_its_spec_lists_them() -> None:
    assert MarketSpec.from_manifest(SOL_USDC).order_types == tuple(OrderType)
    manifest = copy.deepcopy(SOL_USDC)
    manifest["spec"]["orderTypes"] = ["STOP_LOSS_LIMIT", "LIMIT"]
    market = MarketSpec.from_manifest(manifest)
    assert market.order_types == (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT)
    assert not market.allows(OrderType.STOP_LOSS)


@pytest.mark.parametrize(
    ("order_types", "message"),
    [
        (["LIMIT", "ICEBERG"], "spec.orderTypes: ICEBERG not one of LIMIT, MARKET"),
        ("LIMIT", "spec.orderTypes must be a list"),
        ([], "orderTypes must list at least one order type"),
    ],
)
def test_bad_order_types_are_refused(order_types: object, message: str) -> None:
    manifest = copy.deepcopy(SOL_USDC)
    manifest["spec"]["orderTypes"] = order_types
    with pytest.raises(MarketError, match=message):
        MarketSpec.from_manifest(manifest)
