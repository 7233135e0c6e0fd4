"""crds/market.yaml is a well-formed CRD whose schema takes every example and refuses bad specs.

The OpenAPI schema is checked with `jsonschema` after the Kubernetes extensions are translated
(see `market_crd.to_json_schema`); the CEL rules are tested in test_cel_rules.py.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import pytest

from cryptex.markets import API_VERSION, KIND, MAX_FEE_BPS
from cryptex.money import MAX_DECIMALS
from cryptex.wire import TradingState
from tests.unit.crd.market_crd import (
    example,
    example_names,
    load_crd,
    prune,
    refused_fields,
    root_schema,
    spec_schema,
    walk,
    with_defaults,
)

REQUIRED = (
    "base",
    "quote",
    "tickSize",
    "lotSize",
    "minQty",
    "maxQty",
    "minNotional",
    "makerFeeBps",
    "takerFeeBps",
    "engine",
)
DECIMAL_FIELDS = ("tickSize", "lotSize", "minQty", "maxQty", "minNotional")
PRINTER_COLUMNS = [
    ("Symbol", "string", ".status.symbol"),
    ("State", "string", ".spec.tradingState"),
    ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
    ("Image", "string", ".spec.engine.image"),
    ("Age", "date", ".metadata.creationTimestamp"),
]


def a_spec() -> dict[str, Any]:
    spec: dict[str, Any] = example("sol-usdc.yaml")["spec"]
    return spec


def changed(spec: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """A copy of `spec` with the dotted `field` set to `value`, or removed for `...`."""
    spec = copy.deepcopy(spec)
    *parents, last = field.split(".")
    node = spec
    for name in parents:
        node = node[name]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return spec


# ------------------------------------------------------------------------- the CRD's shape


def test_it_is_a_v1_custom_resource_definition_named_for_its_group() -> None:
    crd = load_crd()
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "markets.cryptex.io"
    assert crd["spec"]["group"] == "cryptex.io"
    assert crd["spec"]["scope"] == "Namespaced"


def test_its_names() -> None:
    assert load_crd()["spec"]["names"] == {
        "kind": "Market",
        "listKind": "MarketList",
        "plural": "markets",
        "singular": "market",
        "shortNames": ["mkt"],
        "categories": ["cryptex"],
    }


def test_its_group_version_and_kind_are_the_ones_markets_py_reads() -> None:
    crd = load_crd()
    (version,) = crd["spec"]["versions"]
    assert f"{crd['spec']['group']}/{version['name']}" == API_VERSION
    assert crd["spec"]["names"]["kind"] == KIND


def test_one_version_is_served_and_stored() -> None:
    versions = load_crd()["spec"]["versions"]
    assert [(v["name"], v["served"], v["storage"]) for v in versions] == [("v1alpha1", True, True)]


def test_status_is_a_subresource() -> None:
    (version,) = load_crd()["spec"]["versions"]
    assert version["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    (version,) = load_crd()["spec"]["versions"]
    columns = [(c["name"], c["type"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]
    assert columns == PRINTER_COLUMNS


@pytest.mark.parametrize(("name", "json_path"), [(c[0], c[2]) for c in PRINTER_COLUMNS])
def test_every_printer_column_names_a_field_of_the_schema(name: str, json_path: str) -> None:
    # A filter such as [?(@.type=="Ready")] picks items of a list: follow `items` there.
    steps = re.sub(r"\[\?\(.*?\)\]", ".[]", json_path).strip(".").split(".")
    schema: Mapping[str, Any] = root_schema()
    if steps[0] == "metadata":
        steps = steps[:1]  # the API server owns the schema inside metadata
    for step in steps:
        if step == "[]":
            assert schema["type"] == "array", name
            schema = schema["items"]
        else:
            assert step in schema.get("properties", {}), f"{name}: no field {step} in {json_path}"
            schema = schema["properties"][step]


def test_the_schema_is_structural() -> None:
    # Every field has a type, save int-or-string ones; nothing keeps unknown fields.
    root = root_schema()
    assert root["type"] == "object"
    for schema in walk(root):
        for inner in [
            *schema.get("properties", {}).values(),
            *[schema[key] for key in ("items", "additionalProperties") if key in schema],
        ]:
            assert isinstance(inner, dict)
            assert "type" in inner or inner.get("x-kubernetes-int-or-string") is True, inner


def test_unknown_fields_are_pruned_never_kept() -> None:
    # A structural schema drops fields it does not declare, unless a node says
    # `x-kubernetes-preserve-unknown-fields` or `additionalProperties: true`. None does. (kubectl's
    # default strict check refuses such a field outright; clients that do not ask for it, an
    # operator say, see it dropped: a typo such as `tickSise` vanishes and `tickSize`, being
    # required, is then missing.)
    for schema in walk(spec_schema()):
        assert "x-kubernetes-preserve-unknown-fields" not in schema
        assert schema.get("additionalProperties") is not True
    spec = a_spec()
    spec["tickSise"] = "0.01"
    spec["engine"]["replicas"] = 3
    assert refused_fields(spec_schema(), spec) == set()  # JSON Schema accepts extra fields...
    assert prune(spec, spec_schema()) == a_spec()  # ...which the API server drops


def test_a_misspelt_required_field_is_refused_after_pruning() -> None:
    spec = changed(a_spec(), "tickSize", ...)
    spec["tickSise"] = "0.01"
    assert refused_fields(spec_schema(), prune(spec, spec_schema())) == {"tickSize"}


def test_the_schema_is_what_markets_py_allows() -> None:
    properties = spec_schema()["properties"]
    assert properties["tradingState"]["enum"] == [state.value for state in TradingState]
    assert properties["tradingState"]["default"] == TradingState.ACTIVE.value
    for asset in ("base", "quote"):
        assert properties[asset]["properties"]["decimals"]["maximum"] == MAX_DECIMALS
    for fee in ("makerFeeBps", "takerFeeBps"):
        assert (properties[fee]["minimum"], properties[fee]["maximum"]) == (0, MAX_FEE_BPS)
    assert spec_schema()["required"] == list(REQUIRED)


def test_a_missing_trading_state_defaults_to_active() -> None:
    spec = changed(a_spec(), "tradingState", ...)
    assert with_defaults(spec, spec_schema())["tradingState"] == "Active"


def test_every_string_and_map_is_bounded() -> None:
    # The API server estimates each CEL rule's cost from these bounds, and refuses the CRD
    # if the estimate is too high: an unbounded string or map a rule could read is a risk.
    for schema in walk(spec_schema()):
        fields = [*schema.get("properties", {}).values()]
        fields += [schema[key] for key in ("items", "additionalProperties") if key in schema]
        for field in fields:
            if field.get("type") == "string" or field.get("x-kubernetes-int-or-string"):
                assert "maxLength" in field, field
            if field.get("type") == "object" and "additionalProperties" in field:
                assert "maxProperties" in field, field


def test_a_status_as_the_operator_writes_it_is_valid() -> None:
    status = {
        "observedGeneration": 3,
        "symbol": "SOL_USDC",
        "engineReady": True,
        "lastAppliedTradingState": "Active",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "EngineAcknowledged",
                "message": "",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 3,
            }
        ],
    }
    assert refused_fields(root_schema()["properties"]["status"], status) == set()


def test_conditions_are_a_map_keyed_by_type() -> None:
    conditions = root_schema()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in conditions["items"]["required"]
    assert conditions["items"]["properties"]["status"]["enum"] == ["True", "False", "Unknown"]


# ------------------------------------------------------------------------- examples and bad specs


@pytest.mark.parametrize("name", example_names())
def test_every_example_is_valid(name: str) -> None:
    manifest = example(name)
    assert refused_fields(root_schema(), manifest) == set()
    assert prune(manifest, root_schema()) == manifest  # nothing in it is unknown


def test_there_are_examples() -> None:
    assert len(example_names()) >= 3


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_required_field_is_refused(field: str) -> None:
    assert refused_fields(spec_schema(), changed(a_spec(), field, ...)) == {field}


def test_a_manifest_without_spec_is_refused() -> None:
    manifest = example("sol-usdc.yaml")
    del manifest["spec"]
    assert refused_fields(root_schema(), manifest) == {"spec"}


BAD_DECIMALS = [
    "1e3",
    "-1",
    "abc",
    "",
    " 1",
    "1 ",
    "+1",
    "1.",
    ".5",
    "1,5",
    "0x10",
    "NaN",
    "Infinity",
    "1" * 38,  # past maxLength
]


@pytest.mark.parametrize("field", DECIMAL_FIELDS)
@pytest.mark.parametrize("value", BAD_DECIMALS)
def test_a_decimal_field_off_pattern_is_refused(field: str, value: str) -> None:
    assert refused_fields(spec_schema(), changed(a_spec(), field, value)) == {field}


@pytest.mark.parametrize("field", DECIMAL_FIELDS)
@pytest.mark.parametrize("value", [0.01, 5, None, True, ["1"]])
def test_a_decimal_field_that_is_not_a_string_is_refused(field: str, value: Any) -> None:
    # Unquoted in YAML, 0.01 is a float: refused, never rounded.
    assert refused_fields(spec_schema(), changed(a_spec(), field, value)) == {field}


@pytest.mark.parametrize("value", ["0", "007", "1" * 18 + "." + "1" * 18])
def test_plain_decimals_within_bounds_pass_the_pattern(value: str) -> None:
    # Zero passes here: the CEL rules refuse a zero tickSize, lotSize, minQty or maxQty.
    assert refused_fields(spec_schema(), changed(a_spec(), "minNotional", value)) == set()


BAD_SPECS = [
    pytest.param("makerFeeBps", -1, id="maker-fee-negative"),
    pytest.param("makerFeeBps", 1001, id="maker-fee-above-10-percent"),
    pytest.param("takerFeeBps", 1001, id="taker-fee-above-10-percent"),
    pytest.param("takerFeeBps", -5, id="taker-fee-negative"),
    pytest.param("makerFeeBps", "10", id="maker-fee-a-string"),
    pytest.param("takerFeeBps", 2.5, id="taker-fee-fractional"),
    pytest.param("tradingState", "Open", id="state-unknown"),
    pytest.param("tradingState", "active", id="state-lower-case"),
    pytest.param("tradingState", "", id="state-empty"),
    pytest.param("base.decimals", 19, id="decimals-19"),
    pytest.param("quote.decimals", -1, id="decimals-negative"),
    pytest.param("base.decimals", "8", id="decimals-a-string"),
    pytest.param("base.decimals", ..., id="decimals-missing"),
    pytest.param("quote.symbol", ..., id="symbol-missing"),
    pytest.param("base.symbol", "sol", id="symbol-lower-case"),
    pytest.param("base.symbol", "S", id="symbol-one-letter"),
    pytest.param("base.symbol", "SOLANASOLAN", id="symbol-eleven-characters"),
    pytest.param("base.symbol", "1INCH", id="symbol-starts-with-a-digit"),
    pytest.param("quote.symbol", "US-DC", id="symbol-with-a-dash"),
    pytest.param("quote.symbol", "USDC ", id="symbol-with-a-space"),
    pytest.param("base", "SOL", id="asset-not-an-object"),
    pytest.param("engine.image", "", id="image-empty"),
    pytest.param("engine.image", ..., id="image-missing"),
    pytest.param("engine.image", "x" * 513, id="image-too-long"),
    pytest.param("engine.imagePullPolicy", "Sometimes", id="pull-policy-unknown"),
    pytest.param("engine.resources.requests.cpu", "lots", id="cpu-not-a-quantity"),
    pytest.param("engine.resources.limits.memory", True, id="memory-a-bool"),
    pytest.param("engine.resources.requests", "500m", id="requests-not-a-map"),
    pytest.param("engine", "cryptex/engine:0.1.0", id="engine-not-an-object"),
]


@pytest.mark.parametrize(("field", "value"), BAD_SPECS)
def test_a_bad_spec_is_refused_at_its_field(field: str, value: Any) -> None:
    assert refused_fields(spec_schema(), changed(a_spec(), field, value)) == {field}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("makerFeeBps", 0),
        ("takerFeeBps", 1000),
        ("tradingState", "PreOpen"),
        ("tradingState", "Closed"),
        ("base.decimals", 0),
        ("quote.decimals", 18),
        ("base.symbol", "X2"),
        ("base.symbol", "ABCDEFGHIJ"),
        ("engine.imagePullPolicy", "IfNotPresent"),
        ("engine.resources", ...),
        ("engine.resources.requests.cpu", 2),
        ("engine.resources.limits.memory", "1.5Gi"),
        ("tradingState", ...),
    ],
)
def test_values_at_the_edges_are_accepted(field: str, value: Any) -> None:
    assert refused_fields(spec_schema(), changed(a_spec(), field, value)) == set()
