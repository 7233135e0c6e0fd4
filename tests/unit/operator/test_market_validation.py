"""What keeps a Market from being listed, with the message the operator reports, and what the
registry keeps of a listed one."""

from __future__ import annotations

import pytest

from cryptex.markets import MarketError, MarketSpec
from cryptex_operator import manifests
from tests.unit.operator.markets import resource


def listed(*names: str) -> dict[str, MarketSpec]:
    markets = [MarketSpec.from_manifest(manifests.market_manifest(resource(n))) for n in names]
    return {market.symbol: market for market in markets}


def test_a_valid_market_is_its_market_spec() -> None:
    market = manifests.validate(resource(), listed("btc-usdc", "eth-usdc"), None)
    assert (market.symbol, market.min_qty, market.quote_units_per_tick_lot) == ("SOL_USDC", 10, 10)


def test_a_market_whose_notional_would_not_be_exact_is_refused() -> None:
    body = resource(tickSize="0.0001", lotSize="0.001")  # 10^-7 USDC: finer than 6 decimals
    with pytest.raises(MarketError) as refused:
        manifests.validate(body, {}, None)
    assert str(refused.value) == (
        "SOL_USDC: tickSize 0.0001 x lotSize 0.001 is finer than USDC's 6 decimals, so a "
        "notional would not be exact"
    )


def test_a_lot_finer_than_the_base_asset_is_refused() -> None:
    with pytest.raises(MarketError, match=r"lotSize 0\.000000001 is finer than SOL's 8 decimals"):
        manifests.validate(resource(lotSize="0.000000001", minQty="1"), {}, None)


def test_an_asset_with_other_decimals_than_a_listed_market_is_refused() -> None:
    body = resource(quote={"symbol": "USDC", "decimals": 2}, tickSize="0.01", lotSize="1")
    body["spec"]["minQty"], body["spec"]["maxQty"] = "1", "100"
    with pytest.raises(MarketError) as refused:
        manifests.validate(body, listed("btc-usdc"), None)
    assert str(refused.value) == (
        "SOL_USDC: USDC has 2 decimals here but 6 in the listed market BTC_USDC; an asset has "
        "one unit across every market"
    )


def test_a_symbol_listed_by_another_resource_is_refused() -> None:
    other = manifests.registry_manifest({**resource(), "metadata": {
        "name": "sol-usdc", "namespace": "team-b", "uid": "uid-other",
    }}, "Active")  # fmt: skip
    with pytest.raises(MarketError, match="SOL_USDC is already listed by the Market team-b/sol"):
        manifests.validate(resource(), listed("sol-usdc"), other)


def test_tick_and_lot_sizes_of_a_listed_market_never_change() -> None:
    mine = manifests.registry_manifest(resource(), "Active")
    with pytest.raises(MarketError) as refused:
        manifests.validate(resource(tickSize="0.1"), listed("sol-usdc"), mine)
    assert str(refused.value) == (
        "SOL_USDC: tickSize cannot change from 0.01 to 0.1 on a listed market: resting orders "
        "hold prices and quantities as integers of it; list a new market instead"
    )
    with pytest.raises(MarketError, match=r"lotSize cannot change from 0\.001 to 0\.01"):
        manifests.validate(resource(lotSize="0.01"), listed("sol-usdc"), mine)
    # Filters and fees may change; the same sizes written otherwise are the same sizes.
    relisted = resource(tickSize="0.010", minQty="0.1", takerFeeBps=25)
    assert manifests.validate(relisted, listed("sol-usdc"), mine).taker_fee_bps == 25


def test_the_name_must_be_the_symbol() -> None:
    body = resource()
    body["metadata"]["name"] = "solana"
    with pytest.raises(MarketError, match=r"metadata\.name 'solana' must be 'sol-usdc'"):
        manifests.validate(body, {}, None)


def test_the_registry_keeps_the_market_with_the_engines_state_and_its_owner() -> None:
    body = resource(tradingState="Halted")
    assert manifests.registry_manifest(body, "Active") == {
        "apiVersion": "cryptex.io/v1alpha1",
        "kind": "Market",
        "metadata": {"name": "sol-usdc", "namespace": "cryptex", "uid": "uid-sol-usdc"},
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
            "maxOpenOrders": 200,  # the registry carries the limit the API enforces
            "tradingState": "Active",
        },
    }
    assert (
        MarketSpec.from_manifest(manifests.registry_manifest(body, "Active")).symbol == "SOL_USDC"
    )
