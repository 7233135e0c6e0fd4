"""The CRD and `MarketSpec.from_manifest` agree on the examples, and where they part, it is known.

The CRD refuses early what it can say cheaply; `cryptex.markets` is what decides. Some specs pass
the CRD and are refused by markets.py: the exactness rules of DESIGN.md (Money) need decimal
arithmetic that CEL cannot do at a bounded cost, and the metadata.name rule is not checked
by the CRD. So the operator must run `MarketSpec.from_manifest` on every spec it reconciles and
report a refusal in the Ready condition; these tests list the cases that depend on it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cryptex.markets import MarketError, MarketSpec
from tests.unit.crd.market_crd import admit, example, example_names, root_schema


def crd_verdict(manifest: dict[str, Any]) -> tuple[set[str], list[str]]:
    """(fields the OpenAPI schema refuses, messages of the CEL rules broken) on create."""
    return admit(root_schema(), manifest)


def sol_usdc(**changes: Any) -> dict[str, Any]:
    manifest = example("sol-usdc.yaml")
    manifest["spec"].update(copy.deepcopy(changes))
    return manifest


def sol_usdc_without(field: str) -> dict[str, Any]:
    manifest = example("sol-usdc.yaml")
    del manifest["spec"][field]
    return manifest


@pytest.mark.parametrize("name", example_names())
def test_every_example_is_accepted_by_the_crd_and_by_markets_py(name: str) -> None:
    assert crd_verdict(example(name)) == (set(), [])
    market = MarketSpec.from_manifest(example(name))
    assert market.resource_name == example(name)["metadata"]["name"]


# Accepted by the CRD, refused by MarketSpec: the operator's check is the only one.
CRD_ACCEPTS_MARKETS_PY_REFUSES = [
    pytest.param(
        sol_usdc(tickSize="0.0001"),
        "tickSize 0.0001 x lotSize 0.001 is finer than USDC's 6 decimals",
        id="tick-times-lot-not-whole-quote-units",
    ),
    pytest.param(
        sol_usdc(lotSize="0.000000001", minQty="0.01"),
        "lotSize 0.000000001 is finer than SOL's 8 decimals",
        id="lot-not-whole-base-units",
    ),
    pytest.param(
        sol_usdc(minQty="0.0015"),
        "minQty: '0.0015' is not a multiple of 0.001",
        id="min-qty-off-lot",
    ),
    pytest.param(
        sol_usdc(maxQty="100.0005"),
        "maxQty: '100.0005' is not a multiple of 0.001",
        id="max-qty-off-lot",
    ),
    pytest.param(
        sol_usdc(minQty="10", maxQty="1"),
        "need 0 < minQty <= maxQty",
        id="min-qty-above-max-qty",
    ),
    pytest.param(
        sol_usdc(minNotional="0.0000001"),
        "minNotional: '0.0000001' has more than 6 decimal places",
        id="min-notional-finer-than-quote",
    ),
    pytest.param(
        sol_usdc(maxQty="100000000000000"),
        "maxQty is beyond exact integer range",
        id="max-qty-beyond-exact-integers",
    ),
    pytest.param(
        sol_usdc(tickSize="0.0000000000000000001"),
        "tickSize: '0.0000000000000000001' has more than 18 decimal places",
        id="nineteen-decimal-places",
    ),
    pytest.param(
        sol_usdc(maxQty="1000000000000000000"),
        "maxQty: '1000000000000000000' is too large",
        id="nineteen-integer-digits",
    ),
    pytest.param(
        {**example("sol-usdc.yaml"), "metadata": {"name": "solana"}},
        "metadata.name 'solana' must be 'sol-usdc' for SOL_USDC",
        id="name-not-base-dash-quote",
    ),
]


@pytest.mark.parametrize(("manifest", "reason"), CRD_ACCEPTS_MARKETS_PY_REFUSES)
def test_the_crd_accepts_what_only_markets_py_refuses(
    manifest: dict[str, Any], reason: str
) -> None:
    assert crd_verdict(manifest) == (set(), [])
    with pytest.raises(MarketError) as refusal:
        MarketSpec.from_manifest(manifest)
    assert reason in str(refusal.value)


# Refused by the CRD, accepted by MarketSpec: the CRD is stricter in ways no real market meets.
CRD_REFUSES_MARKETS_PY_ACCEPTS = [
    pytest.param(
        sol_usdc(minNotional="0" * 37 + "5"),
        {"spec.minNotional"},
        id="leading-zeros-past-37-characters",
    ),
    pytest.param(
        sol_usdc_without("engine"),
        {"spec.engine"},
        id="no-engine",  # the operator's concern: markets.py does not read it
    ),
]


@pytest.mark.parametrize(("manifest", "refused"), CRD_REFUSES_MARKETS_PY_ACCEPTS)
def test_the_crd_refuses_what_markets_py_accepts(
    manifest: dict[str, Any], refused: set[str]
) -> None:
    assert crd_verdict(manifest)[0] == refused
    MarketSpec.from_manifest(manifest)


@pytest.mark.parametrize(
    ("manifest", "refused", "broken"),
    [
        pytest.param(sol_usdc(tickSize="0"), set(), ["tickSize must be greater than zero"]),
        pytest.param(sol_usdc(makerFeeBps=1001), {"spec.makerFeeBps"}, []),
        pytest.param(sol_usdc(tradingState="Open"), {"spec.tradingState"}, []),
        pytest.param(sol_usdc(tickSize="1e-2"), {"spec.tickSize"}, []),
        pytest.param(
            sol_usdc(quote={"symbol": "SOL", "decimals": 8}),
            set(),
            ["base and quote must be different assets"],
        ),
    ],
    ids=["zero-tick", "fee", "state", "exponent", "same-assets"],
)
def test_both_refuse_what_the_crd_can_express(
    manifest: dict[str, Any], refused: set[str], broken: list[str]
) -> None:
    assert crd_verdict(manifest) == (refused, broken)
    with pytest.raises(MarketError):
        MarketSpec.from_manifest(manifest)
