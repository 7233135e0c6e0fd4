"""crds/market.yaml on a real API server: accepted, served, validated, defaulted and pruned.

tests/unit/crd checks the schema with jsonschema and the CEL rules with cel-python; here the
testbed's kube-apiserver has the last word. The CRD is installed once for the session (the
`market_crd` fixture of the conftest); every test puts its Markets in its own namespace.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube.conftest import crd_condition

pytestmark = pytest.mark.kube

REPO = Path(__file__).resolve().parents[3]
EXAMPLES_DIR = REPO / "crds" / "examples"
EXAMPLES = sorted(path.name for path in EXAMPLES_DIR.glob("*.yaml"))

DIFFERENT_ASSETS = "base and quote must be different assets"
CLOSED_IS_TERMINAL = "tradingState Closed is terminal; a closed market cannot be reopened"
BASE_IMMUTABLE = "base is immutable; list a new market instead"
QUOTE_IMMUTABLE = "quote is immutable; list a new market instead"
# What the server adds when an error stops it from running the CEL rules at all.
CEL_SKIPPED = "some validation rules were not checked because the object was invalid"
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
DECIMAL_PATTERN = r"should match '^[0-9]+(\.[0-9]+)?$'"


def example(name: str) -> dict[str, Any]:
    with (EXAMPLES_DIR / name).open(encoding="utf-8") as stream:
        manifest: dict[str, Any] = yaml.safe_load(stream)
    return manifest


def a_market(name: str = "sol-usdc", /, **changes: Any) -> dict[str, Any]:
    """The SOL_USDC example under `name`, its dotted spec fields changed (removed for `...`)."""
    manifest = example("sol-usdc.yaml")
    manifest["metadata"]["name"] = name
    for field, value in changes.items():
        *parents, last = field.split(".")
        node = manifest["spec"]
        for parent in parents:
            node = node.setdefault(parent, {})
        if value is ...:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return manifest


@pytest.fixture
def markets(market_crd: dict[str, Any], namespace: str) -> str:
    """A fresh namespace in which Markets can be created."""
    return namespace


def create(kube_cluster: Any, namespace: str, manifest: dict[str, Any]) -> Any:
    """`kubectl create` of `manifest`; the CompletedProcess, whether it was accepted or not."""
    return kube_cluster.kubectl(
        "create", "-n", namespace, "-f", "-", input=json.dumps(manifest), check=False
    )


def get(kube_cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    market: dict[str, Any] = kube_cluster.kubectl_json("get", "market", name, "-n", namespace)
    return market


def exists(kube_cluster: Any, namespace: str, name: str) -> bool:
    found = kube_cluster.kubectl("get", "market", name, "-n", namespace, check=False)
    if found.returncode == 0:
        return True
    assert "NotFound" in found.stderr, found.stderr
    return False


def patch(kube_cluster: Any, namespace: str, name: str, body: dict[str, Any], *extra: str) -> Any:
    """A merge patch of the Market (an update, so transition rules run); the CompletedProcess."""
    return kube_cluster.kubectl(
        "patch",
        "market",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps(body),
        *extra,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], name: str) -> str:
    """The server's message for a refused create or update of Market `name`."""
    assert done.returncode != 0, f"the server accepted it: {done.stdout}"
    assert f'The Market "{name}" is invalid' in done.stderr, done.stderr
    return done.stderr


# ------------------------------------------------------------------------- the CRD itself


def test_the_api_server_accepts_and_serves_the_crd(
    kube_cluster: Any, market_crd: dict[str, Any], namespace: str
) -> None:
    # Being Established at all means the schema is structural and every CEL rule compiled
    # within the cost budget: the server refuses a CRD outright otherwise.
    assert crd_condition(market_crd, "NamesAccepted") == "True"
    assert crd_condition(market_crd, "NonStructuralSchema") is None
    accepted = market_crd["status"]["acceptedNames"]
    assert (accepted["kind"], accepted["plural"], accepted["shortNames"]) == (
        "Market",
        "markets",
        ["mkt"],
    )
    assert accepted["categories"] == ["cryptex"]
    [version] = market_crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert market_crd["status"]["storedVersions"] == ["v1alpha1"]
    assert market_crd["spec"]["scope"] == "Namespaced"

    resources = kube_cluster.kubectl(
        "api-resources", "--api-group=cryptex.io", "-o", "wide", "--no-headers"
    ).stdout.split()
    assert resources[:5] == ["markets", "mkt", "cryptex.io/v1alpha1", "true", "Market"]

    for resource in ("mkt", "markets.v1alpha1.cryptex.io", "cryptex"):
        listed = kube_cluster.kubectl("get", resource, "-n", namespace)
        assert f"No resources found in {namespace} namespace." in listed.stderr

    # The OpenAPI document is published a little after the CRD is Established.
    explained = kube_cluster.wait_for(
        "kubectl explain market.spec",
        lambda: kube_cluster.kubectl("explain", "market.spec").stdout,
    )
    assert "VERSION:    v1alpha1" in explained
    assert re.search(r"^\s+tickSize\s+<string> -required-$", explained, re.MULTILINE), explained
    assert re.search(r"^\s+tradingState\s+<string>$", explained, re.MULTILINE), explained
    state = kube_cluster.kubectl("explain", "market.spec.tradingState").stdout
    enum = re.search(r"^ENUM:\n((?:    \S+\n)+)", state, re.MULTILINE)
    assert enum is not None, state
    assert enum.group(1).split() == ["PreOpen", "Active", "CancelOnly", "Halted", "Closed"]


# ------------------------------------------------------------------------- examples and pruning


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_is_created_and_read_back_as_written(
    kube_cluster: Any, markets: str, name: str
) -> None:
    manifest = example(name)
    created = kube_cluster.kubectl("apply", "-n", markets, "-f", str(EXAMPLES_DIR / name))
    assert created.stdout.strip() == f"market.cryptex.io/{manifest['metadata']['name']} created"

    stored = get(kube_cluster, markets, manifest["metadata"]["name"])
    assert stored["apiVersion"] == "cryptex.io/v1alpha1"
    assert stored["kind"] == "Market"
    assert stored["metadata"]["namespace"] == markets
    assert stored["metadata"]["generation"] == 1
    assert stored["spec"] == manifest["spec"]  # nothing defaulted over, nothing pruned
    assert "status" not in stored

    # Applying it again is an update that changes nothing: the transition rules allow it.
    again = kube_cluster.kubectl("apply", "-n", markets, "-f", str(EXAMPLES_DIR / name))
    assert again.stdout.strip().endswith(" unchanged")
    replaced = kube_cluster.kubectl("replace", "-n", markets, "-f", str(EXAMPLES_DIR / name))
    assert replaced.stdout.strip().endswith(" replaced")
    assert get(kube_cluster, markets, manifest["metadata"]["name"])["spec"] == manifest["spec"]


def test_a_missing_trading_state_defaults_to_active(kube_cluster: Any, markets: str) -> None:
    manifest = a_market(tradingState=...)
    assert "tradingState" not in manifest["spec"]
    create(kube_cluster, markets, manifest).check_returncode()
    stored = get(kube_cluster, markets, "sol-usdc")
    assert stored["spec"]["tradingState"] == "Active"
    assert stored["spec"] == {**manifest["spec"], "tradingState": "Active"}


def test_unknown_fields_are_refused_by_strict_kubectl_and_otherwise_pruned(
    kube_cluster: Any, markets: str, tmp_path: Path
) -> None:
    manifest = example("btc-usdc.yaml")
    manifest["spec"]["bogus"] = 1
    manifest["spec"]["engine"]["replicas"] = 3
    path = tmp_path / "btc-usdc.yaml"
    path.write_text(yaml.safe_dump(manifest))

    # kubectl asks for strict field validation by default: a typo is an error, not a loss.
    strict = kube_cluster.kubectl("apply", "-n", markets, "-f", str(path), check=False)
    assert strict.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in strict.stderr
    assert 'unknown field "spec.engine.replicas"' in strict.stderr
    assert not exists(kube_cluster, markets, "btc-usdc")

    # Without it, the structural schema prunes what it does not declare.
    warned = kube_cluster.kubectl("apply", "-n", markets, "--validate=warn", "-f", str(path))
    assert 'Warning: unknown field "spec.bogus"' in warned.stderr
    stored = get(kube_cluster, markets, "btc-usdc")
    assert "bogus" not in stored["spec"]
    assert "replicas" not in stored["spec"]["engine"]
    assert stored["spec"] == example("btc-usdc.yaml")["spec"]

    unvalidated = a_market("eth-usdc", bogus="x")
    unvalidated["spec"]["base"]["bogus"] = True
    unvalidated["status"] = {"bogus": 1}
    kube_cluster.kubectl(
        "create", "-n", markets, "--validate=false", "-f", "-", input=json.dumps(unvalidated)
    )
    stored = get(kube_cluster, markets, "eth-usdc")
    assert stored["spec"] == a_market()["spec"]
    assert "status" not in stored  # status is the subresource's, and dropped on create


def test_an_integral_float_fee_is_stored_as_an_integer(kube_cluster: Any, markets: str) -> None:
    manifest = a_market(makerFeeBps=10.0)
    assert '"makerFeeBps": 10.0' in json.dumps(manifest)
    create(kube_cluster, markets, manifest).check_returncode()
    fee = kube_cluster.kubectl(
        "get", "market", "sol-usdc", "-n", markets, "-o", "jsonpath={.spec.makerFeeBps}"
    ).stdout
    assert fee == "10"


# ------------------------------------------------------------------------- refused at create

BAD_MARKETS = [
    pytest.param(
        {"quote": {"symbol": "SOL", "decimals": 8}},
        [f'spec: Invalid value: "object": {DIFFERENT_ASSETS}'],
        id="base-equals-quote",
    ),
    pytest.param(
        {"tickSize": "1e3"},
        [f'spec.tickSize: Invalid value: "1e3": spec.tickSize in body {DECIMAL_PATTERN}'],
        id="tick-size-exponent",
    ),
    pytest.param(
        {"minNotional": "-1"},
        [f'spec.minNotional: Invalid value: "-1": spec.minNotional in body {DECIMAL_PATTERN}'],
        id="min-notional-negative",
    ),
    pytest.param(
        {"lotSize": ".5"},
        [f'spec.lotSize: Invalid value: ".5": spec.lotSize in body {DECIMAL_PATTERN}'],
        id="lot-size-no-integer-part",
    ),
    pytest.param(
        {"tickSize": "0"},
        ['spec.tickSize: Invalid value: "string": tickSize must be greater than zero'],
        id="tick-size-zero",
    ),
    pytest.param(
        {"lotSize": "0.000"},
        ['spec.lotSize: Invalid value: "string": lotSize must be greater than zero'],
        id="lot-size-zero",
    ),
    pytest.param(
        {"minQty": "0.0"},
        ['spec.minQty: Invalid value: "string": minQty must be greater than zero'],
        id="min-qty-zero",
    ),
    pytest.param(
        {"maxQty": "00"},
        ['spec.maxQty: Invalid value: "string": maxQty must be greater than zero'],
        id="max-qty-zero",
    ),
    pytest.param(
        {"tickSize": "1" * 38},
        ["spec.tickSize: Too long: may not be longer than 37", CEL_SKIPPED],
        id="tick-size-too-long",
    ),
    pytest.param(
        {"minNotional": 0.01},
        [
            'spec.minNotional: Invalid value: "number": spec.minNotional in body must be of type '
            'string: "number"',
            CEL_SKIPPED,
        ],
        id="min-notional-a-number",
    ),
    pytest.param(
        {"makerFeeBps": -1},
        [
            "spec.makerFeeBps: Invalid value: -1: spec.makerFeeBps in body should be greater "
            "than or equal to 0"
        ],
        id="maker-fee-negative",
    ),
    pytest.param(
        {"takerFeeBps": 2.5},
        [
            'spec.takerFeeBps: Invalid value: "number": spec.takerFeeBps in body must be of type '
            'integer: "number"',
            CEL_SKIPPED,
        ],
        id="taker-fee-fractional",
    ),
    pytest.param(
        {"makerFeeBps": 1001},
        [
            "spec.makerFeeBps: Invalid value: 1001: spec.makerFeeBps in body should be less than "
            "or equal to 1000"
        ],
        id="maker-fee-above-10-percent",
    ),
    pytest.param(
        {"takerFeeBps": "10"},
        ['spec.takerFeeBps: Invalid value: "string": spec.takerFeeBps in body must be of type'],
        id="taker-fee-a-string",
    ),
    pytest.param(
        {"tradingState": "Open"},
        [
            'spec.tradingState: Unsupported value: "Open": supported values: "PreOpen", '
            '"Active", "CancelOnly", "Halted", "Closed"',
            CEL_SKIPPED,
        ],
        id="state-unknown",
    ),
    pytest.param(
        {"tradingState": "active"},
        ['spec.tradingState: Unsupported value: "active"'],
        id="state-lower-case",
    ),
    pytest.param(
        {"base.decimals": 19},
        [
            "spec.base.decimals: Invalid value: 19: spec.base.decimals in body should be less "
            "than or equal to 18"
        ],
        id="decimals-19",
    ),
    pytest.param(
        {"quote.decimals": -1},
        ["spec.quote.decimals: Invalid value: -1: spec.quote.decimals in body should be greater"],
        id="decimals-negative",
    ),
    pytest.param(
        {"base.symbol": "sol"},
        [
            'spec.base.symbol: Invalid value: "sol": spec.base.symbol in body should match '
            "'^[A-Z][A-Z0-9]{1,9}$'"
        ],
        id="symbol-lower-case",
    ),
    pytest.param(
        {"quote.symbol": "SOLANASOLAN"},
        ["spec.quote.symbol: Too long: may not be longer than 10"],
        id="symbol-eleven-characters",
    ),
    pytest.param(
        {"engine.image": ...},
        ["spec.engine.image: Required value", CEL_SKIPPED],
        id="image-missing",
    ),
    pytest.param(
        {"engine.image": ""},
        ['spec.engine.image: Invalid value: "": spec.engine.image in body should be at least 1'],
        id="image-empty",
    ),
    pytest.param(
        {"engine.imagePullPolicy": "Sometimes"},
        ['spec.engine.imagePullPolicy: Unsupported value: "Sometimes"'],
        id="pull-policy-unknown",
    ),
    pytest.param(
        {"engine.resources.requests.cpu": "lots"},
        ['spec.engine.resources.requests.cpu: Invalid value: "lots"'],
        id="cpu-not-a-quantity",
    ),
    pytest.param(
        {"quote.symbol": ...},
        ["spec.quote.symbol: Required value", CEL_SKIPPED],
        id="symbol-missing",
    ),
    *(
        pytest.param(
            {field: ...}, [f"spec.{field}: Required value", CEL_SKIPPED], id=f"{field}-missing"
        )
        for field in REQUIRED
    ),
]


@pytest.mark.parametrize(("changes", "messages"), BAD_MARKETS)
def test_a_bad_market_is_refused_at_create(
    kube_cluster: Any, markets: str, changes: dict[str, Any], messages: list[str]
) -> None:
    stderr = refused(create(kube_cluster, markets, a_market(**changes)), "sol-usdc")
    for message in messages:
        assert message in stderr
    assert not exists(kube_cluster, markets, "sol-usdc")


def test_a_market_without_spec_is_refused(kube_cluster: Any, markets: str) -> None:
    manifest = a_market()
    del manifest["spec"]
    stderr = refused(create(kube_cluster, markets, manifest), "sol-usdc")
    assert "spec: Required value" in stderr
    assert not exists(kube_cluster, markets, "sol-usdc")


def test_cel_rules_run_beside_range_and_pattern_errors(kube_cluster: Any, markets: str) -> None:
    # The server reports a broken CEL rule together with a value out of range or off pattern...
    same_assets = {"quote": {"symbol": "SOL", "decimals": 8}}
    stderr = refused(
        create(kube_cluster, markets, a_market(**same_assets, tickSize="abc")), "sol-usdc"
    )
    assert f'spec.tickSize: Invalid value: "abc": spec.tickSize in body {DECIMAL_PATTERN}' in stderr
    assert f'spec: Invalid value: "object": {DIFFERENT_ASSETS}' in stderr
    assert "tickSize must be greater than zero" in stderr  # "abc" has no digit 1-9
    assert CEL_SKIPPED not in stderr

    stderr = refused(
        create(kube_cluster, markets, a_market(**same_assets, makerFeeBps=1001)), "sol-usdc"
    )
    assert "spec.makerFeeBps in body should be less than or equal to 1000" in stderr
    assert DIFFERENT_ASSETS in stderr

    # ...but runs none after a wrong type, a missing field, a value not in an enum or too long.
    for blocking in ({"makerFeeBps": "10"}, {"tickSize": ...}, {"tradingState": "Open"}):
        stderr = refused(
            create(kube_cluster, markets, a_market(**same_assets, **blocking)), "sol-usdc"
        )
        assert CEL_SKIPPED in stderr
        assert DIFFERENT_ASSETS not in stderr
    assert not exists(kube_cluster, markets, "sol-usdc")


# ------------------------------------------------------------------------- transition rules


def test_base_and_quote_are_immutable(kube_cluster: Any, markets: str) -> None:
    create(kube_cluster, markets, a_market()).check_returncode()
    before = get(kube_cluster, markets, "sol-usdc")
    for body, message in [
        ({"base": {"decimals": 9}}, f'spec.base: Invalid value: "object": {BASE_IMMUTABLE}'),
        ({"base": {"symbol": "ETH"}}, f'spec.base: Invalid value: "object": {BASE_IMMUTABLE}'),
        ({"quote": {"symbol": "USDT"}}, f'spec.quote: Invalid value: "object": {QUOTE_IMMUTABLE}'),
        ({"quote": {"decimals": 2}}, f'spec.quote: Invalid value: "object": {QUOTE_IMMUTABLE}'),
    ]:
        stderr = refused(patch(kube_cluster, markets, "sol-usdc", {"spec": body}), "sol-usdc")
        assert message in stderr
    after = get(kube_cluster, markets, "sol-usdc")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"] == before["spec"]


def test_other_fields_may_change(kube_cluster: Any, markets: str) -> None:
    # The CRD marks only base and quote immutable: tickSize and the rest may change.
    create(kube_cluster, markets, a_market()).check_returncode()
    changes = {
        "tickSize": "0.1",
        "minNotional": "10",
        "makerFeeBps": 0,
        "takerFeeBps": 5,
        "engine": {"image": "cryptex/engine:0.2.0"},
    }
    patch(kube_cluster, markets, "sol-usdc", {"spec": changes}).check_returncode()
    stored = get(kube_cluster, markets, "sol-usdc")
    assert {field: stored["spec"][field] for field in changes if field != "engine"} == {
        field: value for field, value in changes.items() if field != "engine"
    }
    assert stored["spec"]["engine"]["image"] == "cryptex/engine:0.2.0"
    assert stored["metadata"]["generation"] == 2


def test_trading_state_moves_until_closed_and_closed_is_terminal(
    kube_cluster: Any, markets: str
) -> None:
    create(kube_cluster, markets, a_market()).check_returncode()

    def state() -> str:
        value: str = get(kube_cluster, markets, "sol-usdc")["spec"]["tradingState"]
        return value

    for allowed in ("Halted", "Closed"):
        patch(
            kube_cluster, markets, "sol-usdc", {"spec": {"tradingState": allowed}}
        ).check_returncode()
        assert state() == allowed

    for reopen in ("Active", "Halted", "PreOpen", None):  # None removes it: defaulted to Active
        done = patch(kube_cluster, markets, "sol-usdc", {"spec": {"tradingState": reopen}})
        assert f'spec: Invalid value: "object": {CLOSED_IS_TERMINAL}' in refused(done, "sol-usdc")
        assert state() == "Closed"

    # Only the state is terminal: the rest of a closed market's spec may still change.
    image = {"spec": {"engine": {"image": "cryptex/engine:0.2.0"}}}
    patch(kube_cluster, markets, "sol-usdc", image).check_returncode()
    stored = get(kube_cluster, markets, "sol-usdc")
    assert (stored["spec"]["tradingState"], stored["spec"]["engine"]["image"]) == (
        "Closed",
        "cryptex/engine:0.2.0",
    )


def test_a_market_may_be_created_closed(kube_cluster: Any, markets: str) -> None:
    # Transition rules run on updates only.
    create(kube_cluster, markets, a_market(tradingState="Closed")).check_returncode()
    assert get(kube_cluster, markets, "sol-usdc")["spec"]["tradingState"] == "Closed"


# ------------------------------------------------------------------------- status subresource


def columns(kube_cluster: Any, namespace: str, name: str, *extra: str) -> dict[str, str]:
    """The printer columns of `kubectl get market` as {HEADER: value}; "" for an empty one."""
    header, row = kube_cluster.kubectl(
        "get", "market", name, "-n", namespace, *extra
    ).stdout.splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    ends = [*starts[1:], None]
    return {header[s:e].strip(): row[s:e].strip() for s, e in zip(starts, ends, strict=True)}


def test_status_is_written_through_its_subresource_and_shown_in_columns(
    kube_cluster: Any, markets: str
) -> None:
    kube_cluster.kubectl("apply", "-n", markets, "-f", str(EXAMPLES_DIR / "eth-usdc.yaml"))
    shown = columns(kube_cluster, markets, "eth-usdc")
    assert list(shown) == ["NAME", "SYMBOL", "STATE", "READY", "IMAGE", "AGE"]
    assert shown["SYMBOL"] == shown["READY"] == ""
    assert (shown["NAME"], shown["STATE"], shown["IMAGE"]) == (
        "eth-usdc",
        "Active",
        "cryptex/engine:0.1.0",
    )
    before = get(kube_cluster, markets, "eth-usdc")

    status = {
        "observedGeneration": 1,
        "symbol": "ETH_USDC",
        "engineReady": True,
        "lastAppliedTradingState": "Active",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "EngineAcknowledged",
                "message": "",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
    }
    # The spec change rides along and must be ignored by the status subresource.
    body = {"status": status, "spec": {"tickSize": "0.1", "tradingState": "Halted"}}
    patch(kube_cluster, markets, "eth-usdc", body, "--subresource=status").check_returncode()

    stored = get(kube_cluster, markets, "eth-usdc")
    assert stored["status"] == status
    assert stored["spec"] == before["spec"]
    assert stored["metadata"]["generation"] == 1  # status writes do not bump the generation
    for extra in ((), ("-o", "wide")):
        shown = columns(kube_cluster, markets, "eth-usdc", *extra)
        assert list(shown) == ["NAME", "SYMBOL", "STATE", "READY", "IMAGE", "AGE"]
        assert (shown["SYMBOL"], shown["STATE"], shown["READY"], shown["IMAGE"]) == (
            "ETH_USDC",
            "Active",
            "True",
            "cryptex/engine:0.1.0",
        )
        assert re.fullmatch(r"\d+[smhd]\w*", shown["AGE"]), shown["AGE"]


def test_status_is_ignored_on_the_main_resource_and_validated_on_its_own(
    kube_cluster: Any, markets: str
) -> None:
    kube_cluster.kubectl("apply", "-n", markets, "-f", str(EXAMPLES_DIR / "eth-usdc.yaml"))
    patch(kube_cluster, markets, "eth-usdc", {"status": {"symbol": "XXX"}}).check_returncode()
    assert "status" not in get(kube_cluster, markets, "eth-usdc")

    condition = {
        "type": "Ready",
        "status": "Maybe",
        "reason": "EngineAcknowledged",
        "message": "",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    done = patch(
        kube_cluster,
        markets,
        "eth-usdc",
        {"status": {"conditions": [condition]}},
        "--subresource=status",
    )
    stderr = refused(done, "eth-usdc")
    assert 'status.conditions[0].status: Unsupported value: "Maybe"' in stderr
    del condition["reason"]
    condition["status"] = "False"
    done = patch(
        kube_cluster,
        markets,
        "eth-usdc",
        {"status": {"conditions": [condition]}},
        "--subresource=status",
    )
    assert "status.conditions[0].reason: Required value" in refused(done, "eth-usdc")
    assert "status" not in get(kube_cluster, markets, "eth-usdc")
