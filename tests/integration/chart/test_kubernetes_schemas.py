"""Every rendered object is valid Kubernetes 1.31 (kubernetes-validate, strict: no unknown
field), except the kinds that come from CRDs, which it has no schema for: Markets are checked
against crds/market.yaml here, the Prometheus Operator's kinds by promtool and the selector
tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate  # type: ignore[import-untyped]

from cryptex.markets import MarketSpec
from cryptex_operator import manifests
from tests.integration.chart.chart import CHART, CRD_KINDS, KUBE_VERSION, REPO, SCENARIOS, Rendered
from tests.unit.crd.market_crd import refused_fields, root_schema


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_objects_validate_against_kubernetes_1_31(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    refused: list[str] = []
    for obj in rendered[scenario].objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            refused.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
    assert refused == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_kind_is_known(rendered: dict[str, Rendered], scenario: str) -> None:
    """A kind kubernetes-validate has no schema for would pass unchecked: only CRD kinds may."""
    unknown = []
    for obj in rendered[scenario].objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.append(f"{obj['apiVersion']}/{obj['kind']}")
    assert unknown == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_markets_are_valid_market_resources(rendered: dict[str, Rendered], scenario: str) -> None:
    """Each Market passes the CRD's schema, MarketSpec and the operator's own checks, so the
    operator would list it."""
    markets = rendered[scenario].of_kind("Market")
    assert markets, "every scenario lists at least one market"
    listed: dict[str, MarketSpec] = {}
    for market in markets:
        assert refused_fields(root_schema(), market) == set(), market["metadata"]["name"]
        spec = manifests.validate(market, listed, None)
        assert spec.symbol.lower().replace("_", "-") == market["metadata"]["name"]
        listed[spec.symbol] = spec


def test_default_market_is_the_sol_usdc_example(rendered: dict[str, Rendered]) -> None:
    (rendered_market,) = rendered["default"].of_kind("Market")
    market = copy.deepcopy(rendered_market)
    example: dict[str, Any] = _load(REPO / "crds" / "examples" / "sol-usdc.yaml")
    # The chart also gives every engine the pull policy of the release's images.
    assert market["spec"]["engine"].pop("imagePullPolicy") == "IfNotPresent"
    assert market["spec"] == example["spec"]


def test_chart_crd_is_the_repository_crd() -> None:
    """crds/market.yaml is the source of truth; the chart ships an identical copy."""
    chart_copy = CHART / "crds" / "market.yaml"
    source = REPO / "crds" / "market.yaml"
    assert chart_copy.read_bytes() == source.read_bytes(), f"cp {source} {chart_copy}"
    assert [path.name for path in (CHART / "crds").iterdir()] == ["market.yaml"]


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        loaded: dict[str, Any] = yaml.safe_load(stream)
    return loaded
