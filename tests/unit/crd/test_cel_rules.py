"""The CRD's CEL rules, run with cel-python on (self, oldSelf) pairs built from the examples.

The rules are found by walking the schema for `x-kubernetes-validations`, so a rule added later
is at least parsed and run on every example by the first tests here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.crd.market_crd import (
    Rule,
    admit,
    evaluate,
    example,
    example_names,
    program,
    root_schema,
    rules,
    spec_schema,
    with_defaults,
)

DIFFERENT_ASSETS = "base and quote must be different assets"
CLOSED_IS_TERMINAL = "tradingState Closed is terminal; a closed market cannot be reopened"
BASE_IMMUTABLE = "base is immutable; list a new market instead"
QUOTE_IMMUTABLE = "quote is immutable; list a new market instead"
STATES = ("PreOpen", "Active", "CancelOnly", "Halted", "Closed")

ALL_RULES = list(rules(root_schema(), ""))


def a_spec(**changes: Any) -> dict[str, Any]:
    """The SOL_USDC example's spec with top-level fields changed."""
    spec: dict[str, Any] = example("sol-usdc.yaml")["spec"]
    spec.update(copy.deepcopy(changes))
    return spec


def broken(new: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """The messages of the rules a spec breaks on create, or on an update of `old`."""
    refused, messages = admit(spec_schema(), new, old)
    assert refused == set(), "the OpenAPI schema should accept this spec"
    return messages


# ------------------------------------------------------------------------- every rule


def test_the_crd_has_the_rules_these_tests_expect() -> None:
    assert {(rule.path, rule.message) for rule in ALL_RULES} >= {
        ("spec", DIFFERENT_ASSETS),
        ("spec", CLOSED_IS_TERMINAL),
        ("spec.base", BASE_IMMUTABLE),
        ("spec.quote", QUOTE_IMMUTABLE),
        ("spec.tickSize", "tickSize must be greater than zero"),
        ("spec.lotSize", "lotSize must be greater than zero"),
        ("spec.minQty", "minQty must be greater than zero"),
        ("spec.maxQty", "maxQty must be greater than zero"),
    }


@pytest.mark.parametrize("rule", ALL_RULES, ids=str)
def test_every_rule_parses_and_says_why(rule: Rule) -> None:
    program(rule.rule)
    assert rule.message.strip(), f"{rule} has no message"


def _value_at(manifest: dict[str, Any], path: str) -> Any:
    value: Any = manifest
    for name in path.split(".") if path else ():
        value = value[name]
    return value


@pytest.mark.parametrize("name", example_names())
@pytest.mark.parametrize("rule", ALL_RULES, ids=str)
def test_every_rule_holds_for_every_example(rule: Rule, name: str) -> None:
    # Run, not only parsed: a misspelt field or an unknown function fails here.
    manifest = with_defaults(example(name), root_schema())
    value = _value_at(manifest, rule.path)
    if rule.is_transition:  # an update that changes nothing
        assert evaluate(rule.rule, value, copy.deepcopy(value)), rule
    else:  # a create
        assert evaluate(rule.rule, value), rule


# ------------------------------------------------------------------------- base and quote


def test_a_market_of_an_asset_against_itself_is_refused() -> None:
    assert broken(a_spec(quote={"symbol": "SOL", "decimals": 8})) == [DIFFERENT_ASSETS]


def test_changing_the_base_decimals_is_refused() -> None:
    assert broken(a_spec(base={"symbol": "SOL", "decimals": 9}), a_spec()) == [BASE_IMMUTABLE]


def test_changing_the_quote_symbol_is_refused() -> None:
    assert broken(a_spec(quote={"symbol": "USDT", "decimals": 6}), a_spec()) == [QUOTE_IMMUTABLE]


def test_changing_the_quote_decimals_is_refused() -> None:
    assert broken(a_spec(quote={"symbol": "USDC", "decimals": 2}), a_spec()) == [QUOTE_IMMUTABLE]


def test_changing_the_base_symbol_is_refused() -> None:
    assert broken(a_spec(base={"symbol": "ETH", "decimals": 8}), a_spec()) == [BASE_IMMUTABLE]


def test_other_fields_may_change() -> None:
    new = a_spec(
        tickSize="0.1",
        minNotional="10",
        makerFeeBps=0,
        takerFeeBps=5,
        engine={"image": "cryptex/engine:0.2.0"},
    )
    assert broken(new, a_spec()) == []


# ------------------------------------------------------------------------- trading state


@pytest.mark.parametrize("state", [s for s in STATES if s != "Closed"])
def test_a_closed_market_cannot_reopen(state: str) -> None:
    old = a_spec(tradingState="Closed")
    assert broken(a_spec(tradingState=state), old) == [CLOSED_IS_TERMINAL]


def test_leaving_out_the_state_of_a_closed_market_is_refused() -> None:
    # The default, Active, fills it in before the rule runs.
    new = a_spec()
    del new["tradingState"]
    assert broken(new, a_spec(tradingState="Closed")) == [CLOSED_IS_TERMINAL]


def test_closed_stays_closed() -> None:
    closed = a_spec(tradingState="Closed")
    assert broken(closed, closed) == []


def test_a_closed_market_may_still_change_its_engine() -> None:
    # Only the state is terminal: the rule does not freeze the rest of the spec.
    old = a_spec(tradingState="Closed")
    new = a_spec(tradingState="Closed", engine={"image": "cryptex/engine:0.2.0"})
    assert broken(new, old) == []


@pytest.mark.parametrize("old", [s for s in STATES if s != "Closed"])
@pytest.mark.parametrize("new", STATES)
def test_any_other_state_change_is_allowed(old: str, new: str) -> None:
    assert broken(a_spec(tradingState=new), a_spec(tradingState=old)) == []


def test_active_to_halted_is_allowed() -> None:
    assert broken(a_spec(tradingState="Halted"), a_spec(tradingState="Active")) == []


def test_a_market_may_be_created_closed() -> None:
    # Transition rules run on updates only.
    assert broken(a_spec(tradingState="Closed")) == []


@pytest.mark.parametrize("name", example_names())
def test_an_unchanged_example_is_allowed(name: str) -> None:
    spec: dict[str, Any] = example(name)["spec"]
    assert broken(spec, copy.deepcopy(spec)) == []


# ------------------------------------------------------------------------- sizes above zero


@pytest.mark.parametrize("field", ["tickSize", "lotSize", "minQty", "maxQty"])
@pytest.mark.parametrize("zero", ["0", "0.0", "000", "0.000000"])
def test_a_zero_size_or_quantity_is_refused(field: str, zero: str) -> None:
    assert broken(a_spec(**{field: zero})) == [f"{field} must be greater than zero"]


@pytest.mark.parametrize("value", ["1", "0.001", "0.010", "10", "100.0"])
def test_a_positive_size_is_allowed(value: str) -> None:
    assert broken(a_spec(tickSize=value)) == []


def test_a_zero_minimum_notional_is_allowed() -> None:
    assert broken(a_spec(minNotional="0")) == []
