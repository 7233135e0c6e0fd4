"""The Market CRD read as data: its schema as JSON Schema, its defaults, pruning and CEL rules.

These helpers stand in for what the API server does with a `Market` on create or update, in the
order it does it: prune unknown fields, apply defaults, validate against the OpenAPI schema, then
evaluate the CEL rules (`x-kubernetes-validations`), transition rules with the old object too.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import yaml
from celpy.adapter import json_to_cel
from jsonschema import Draft202012Validator, ValidationError

REPO = Path(__file__).resolve().parents[3]
CRD_PATH = REPO / "crds" / "market.yaml"
EXAMPLES_DIR = REPO / "crds" / "examples"

# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas.
_ONE_SCHEMA = ("items", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_NAMED_SCHEMAS = ("properties",)
_OLD_SELF = re.compile(r"\boldSelf\b")


@functools.cache
def _crd() -> dict[str, Any]:
    with CRD_PATH.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def load_crd() -> dict[str, Any]:
    """A fresh copy of crds/market.yaml, free for a test to change."""
    return copy.deepcopy(_crd())


@functools.cache
def _examples() -> dict[str, dict[str, Any]]:
    examples: dict[str, dict[str, Any]] = {}
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as stream:
            examples[path.name] = yaml.safe_load(stream)
    return examples


def example_names() -> list[str]:
    return list(_examples())


def example(name: str) -> dict[str, Any]:
    """A fresh copy of the manifest crds/examples/<name>."""
    return copy.deepcopy(_examples()[name])


def root_schema() -> dict[str, Any]:
    """The openAPIV3Schema of the one served version."""
    (version,) = load_crd()["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = root_schema()["properties"]["spec"]
    return schema


def subschemas(schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every schema inside `schema`, not itself: properties, items, additionalProperties, ..."""
    for key in _ONE_SCHEMA:
        if isinstance(schema.get(key), Mapping):
            yield schema[key]
    for key in _SCHEMA_LISTS:
        yield from schema.get(key, ())
    for key in _NAMED_SCHEMAS:
        yield from schema.get(key, {}).values()
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield schema["additionalProperties"]


def walk(schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """`schema` and every schema inside it."""
    yield schema
    for inner in subschemas(schema):
        yield from walk(inner)


# ------------------------------------------------------------------------- OpenAPI -> JSON Schema


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A CRD's OpenAPI v3 schema as JSON Schema: Kubernetes extensions dropped or translated.

    `x-kubernetes-int-or-string` becomes `anyOf: [integer, string]` where the schema does not
    already say so; every other `x-kubernetes-*` key (list types, CEL rules) has no JSON Schema
    meaning and is dropped. `format` stays: JSON Schema takes it as an annotation.
    """
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-"):
            continue
        if key in _ONE_SCHEMA or (key == "additionalProperties" and isinstance(value, Mapping)):
            converted[key] = to_json_schema(value)
        elif key in _SCHEMA_LISTS:
            converted[key] = [to_json_schema(inner) for inner in value]
        elif key in _NAMED_SCHEMAS:
            converted[key] = {name: to_json_schema(inner) for name, inner in value.items()}
        else:
            converted[key] = copy.deepcopy(value)
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in converted:
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return converted


def validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    converted = to_json_schema(schema)
    Draft202012Validator.check_schema(converted)
    return Draft202012Validator(converted)


def refused_fields(schema: Mapping[str, Any], instance: Any) -> set[str]:
    """The dotted paths of the fields `schema` refuses in `instance`; empty if it is valid."""
    return {_field(error) for error in validator(schema).iter_errors(instance)}


def _field(error: ValidationError) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        # One error per missing property, named only in the message.
        path += [
            name
            for name in error.validator_value
            if error.message == f"{name!r} is a required property"
        ]
    return ".".join(path)


# ------------------------------------------------------------------------- pruning and defaults


def prune(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value` without the fields `schema` does not declare, as a structural schema prunes them."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and extra is None:
            return copy.deepcopy(value)  # an opaque object, such as the root's metadata
        kept: dict[str, Any] = {}
        for key, inner in value.items():
            if properties is not None and key in properties:
                kept[key] = prune(inner, properties[key])
            elif isinstance(extra, Mapping):
                kept[key] = prune(inner, extra)
        return kept
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [prune(inner, schema["items"]) for inner in value]
    return value


def with_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value` with every missing field that `schema` gives a `default` filled in."""
    if isinstance(value, dict):
        filled = {key: copy.deepcopy(inner) for key, inner in value.items()}
        for key, inner in schema.get("properties", {}).items():
            if key not in filled and "default" in inner:
                filled[key] = copy.deepcopy(inner["default"])
            if key in filled:
                filled[key] = with_defaults(filled[key], inner)
        return filled
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [with_defaults(inner, schema["items"]) for inner in value]
    return value


# ------------------------------------------------------------------------- CEL rules


@dataclass(frozen=True)
class Rule:
    """One `x-kubernetes-validations` entry and where it sits (`spec.base`)."""

    path: str
    rule: str
    message: str

    @property
    def is_transition(self) -> bool:
        """A transition rule reads `oldSelf`: it runs only on an update, with both values."""
        return _OLD_SELF.search(self.rule) is not None

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


def own_rules(schema: Mapping[str, Any], path: str) -> list[Rule]:
    """The CEL rules written on `schema` itself, not inside it."""
    return [
        Rule(path, entry["rule"], entry.get("message", ""))
        for entry in schema.get("x-kubernetes-validations", ())
    ]


def rules(schema: Mapping[str, Any], path: str) -> Iterator[Rule]:
    """Every CEL rule in `schema`, found by walking it, so that a rule added later is found too."""
    yield from own_rules(schema, path)
    for name, inner in schema.get("properties", {}).items():
        yield from rules(inner, f"{path}.{name}" if path else name)
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from rules(schema["additionalProperties"], f"{path}.*")
    if isinstance(schema.get("items"), Mapping):
        yield from rules(schema["items"], f"{path}[]")


_ENVIRONMENT = celpy.Environment()


@functools.cache
def program(rule: str) -> celpy.Runner:
    """The rule parsed and made runnable; raises celpy's parse error for a rule that is not CEL."""
    return _ENVIRONMENT.program(_ENVIRONMENT.compile(rule))


def evaluate(rule: str, self_: Any, old_self: Any = None) -> bool:
    """The rule's verdict on `self` (and `oldSelf` for a transition rule), which must be a bool."""
    activation: dict[str, Any] = {"self": json_to_cel(self_)}
    if old_self is not None:
        activation["oldSelf"] = json_to_cel(old_self)
    result = program(rule).evaluate(activation)
    if not isinstance(result, celpy.celtypes.BoolType):
        raise TypeError(f"rule {rule!r} gave {result!r}, not a bool")
    return bool(result)


def broken_rules(schema: Mapping[str, Any], new: Any, old: Any = None) -> list[str]:
    """The messages of the rules `new` breaks, `old` being the stored value on an update.

    Rules run where their field is present; a transition rule only where the old value is
    present too. Rules inside lists and maps are not run here (the CRD has none; the server
    would have to correlate old and new items); `rules` still finds them.
    """
    broken = [
        rule.message
        for rule in own_rules(schema, "")
        if (old is not None or not rule.is_transition) and not evaluate(rule.rule, new, old)
    ]
    if isinstance(new, dict):
        for name, inner in schema.get("properties", {}).items():
            if name in new:
                old_inner = old.get(name) if isinstance(old, dict) else None
                broken += broken_rules(inner, new[name], old_inner)
    return broken


def admit(schema: Mapping[str, Any], new: Any, old: Any = None) -> tuple[set[str], list[str]]:
    """What the API server says to `new` (on an update of `old`): refused fields, broken rules.

    Pruning and defaults are applied to both values first, as the server does.
    """
    new = with_defaults(prune(new, schema), schema)
    if old is not None:
        old = with_defaults(prune(old, schema), schema)
    refused = refused_fields(schema, new)
    if refused:
        # The server skips CEL rules after the errors that leave a value unusable to them
        # (wrong type, missing, too long, not in an enum); these helpers skip them after any.
        return refused, []
    return refused, broken_rules(schema, new, old)
