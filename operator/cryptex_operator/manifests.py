"""What the operator makes for a market, as plain dicts: the engine's Deployment and Service, the
registry's copy of the Market, and the checks a Market must pass before it is listed.

Pure: no I/O, no clock, no client of Kubernetes or Redis. The handlers add the owner reference
(`kopf.adopt`) and send what this module builds; tests compare it whole.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptex.markets import API_VERSION, KIND, MarketError, MarketSpec

GROUP: Final = "cryptex.io"
VERSION: Final = "v1alpha1"
PLURAL: Final = "markets"
FINALIZER: Final = "cryptex.io/market-finalizer"
ANNOTATION_PREFIX: Final = "cryptex.io"  # kopf's progress and diff-base, and the operator's own
TEMPLATE_HASH: Final = "cryptex.io/template-hash"
MARKET_LABEL: Final = "cryptex.io/market"
APP_NAME: Final = "cryptex-engine"
CONTAINER: Final = "engine"
METRICS_PORT: Final = "metrics"

# A start replays the commands after the last snapshot before /healthz answers 200; the startup
# probe gives that replay up to 10 minutes so that liveness never kills an engine mid-replay.
_STARTUP_PERIOD_S: Final = 5
_STARTUP_FAILURES: Final = 120


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """What every engine pod gets from the operator's settings, whatever its market."""

    redis_url: str
    redis_url_secret: str | None = None  # `secret/key`; wins over `redis_url` when set
    metrics_port: int = 9101
    run_as_user: int = 10001


# ------------------------------------------------------------------ names and labels


def engine_name(market_name: str) -> str:
    """The name of a market's Deployment and Service: `sol-usdc-engine`."""
    return f"{market_name}-engine"


def selector(market_name: str) -> dict[str, str]:
    """The labels that pick a market's engine pod; a Deployment's selector never changes."""
    return {"app.kubernetes.io/name": APP_NAME, MARKET_LABEL: market_name}


def labels(market_name: str) -> dict[str, str]:
    return {
        **selector(market_name),
        "app.kubernetes.io/instance": engine_name(market_name),
        "app.kubernetes.io/component": "matching-engine",
        "app.kubernetes.io/part-of": "cryptex",
        "app.kubernetes.io/managed-by": "cryptex-operator",
    }


def template_hash(template: Mapping[str, Any]) -> str:
    """A digest of what the operator asked for. The API server fills defaults into what it
    stores, so a stored object never equals the one sent: this hash, kept in an annotation,
    is what tells whether an object must change."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# ------------------------------------------------------------------ the engine


def deployment(
    name: str,
    namespace: str,
    market: MarketSpec,
    engine: Mapping[str, Any],
    config: EngineConfig,
) -> dict[str, Any]:
    """The engine Deployment of the Market `name`, from its `spec.engine`.

    One replica, recreated rather than rolled: two engines of one market would fight over its
    lease, and the one with the older fencing token could settle nothing anyway."""
    probe = {"httpGet": {"path": "/healthz", "port": METRICS_PORT}, "timeoutSeconds": 2}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": engine["image"],
        "command": ["cryptex-engine"],
        "env": [
            {"name": "CRYPTEX_MARKET", "value": market.symbol},
            _redis_url_env(config),
            {"name": "CRYPTEX_METRICS_PORT", "value": str(config.metrics_port)},
        ],
        "ports": [{"name": METRICS_PORT, "containerPort": config.metrics_port, "protocol": "TCP"}],
        "startupProbe": {
            **probe,
            "periodSeconds": _STARTUP_PERIOD_S,
            "failureThreshold": _STARTUP_FAILURES,
        },
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
        "resources": copy.deepcopy(dict(engine.get("resources", {}))),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if "imagePullPolicy" in engine:
        container["imagePullPolicy"] = engine["imagePullPolicy"]
    template = {
        "metadata": {"labels": labels(name)},
        "spec": {
            "containers": [container],
            # The engine needs no Kubernetes API: no token in the pod.
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": config.run_as_user,
                "runAsGroup": config.run_as_user,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            # SIGTERM lets the engine finish its batch and write a snapshot.
            "terminationGracePeriodSeconds": 30,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": engine_name(name),
            "namespace": namespace,
            "labels": labels(name),
            "annotations": {TEMPLATE_HASH: template_hash(template)},
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector(name)},
            "template": template,
        },
    }


def _redis_url_env(config: EngineConfig) -> dict[str, Any]:
    if config.redis_url_secret is None:
        return {"name": "CRYPTEX_REDIS_URL", "value": config.redis_url}
    secret, _, key = config.redis_url_secret.partition("/")
    return {
        "name": "CRYPTEX_REDIS_URL",
        "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
    }


def service(name: str, namespace: str, config: EngineConfig) -> dict[str, Any]:
    """The engine's Service: its metrics port, for Prometheus to find through a ServiceMonitor."""
    spec = {
        "type": "ClusterIP",
        "selector": selector(name),
        "ports": [
            {
                "name": METRICS_PORT,
                "port": config.metrics_port,
                "targetPort": METRICS_PORT,
                "protocol": "TCP",
            }
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": engine_name(name),
            "namespace": namespace,
            "labels": labels(name),
            "annotations": {TEMPLATE_HASH: template_hash(spec)},
        },
        "spec": spec,
    }


def stored_hash(obj: Mapping[str, Any] | None) -> str | None:
    """The template hash an object was last written with (None: absent, or not ours)."""
    if obj is None:
        return None
    value = obj.get("metadata", {}).get("annotations", {}).get(TEMPLATE_HASH)
    return value if isinstance(value, str) else None


def desired_hash(obj: Mapping[str, Any]) -> str:
    hash_: str = obj["metadata"]["annotations"][TEMPLATE_HASH]
    return hash_


# ------------------------------------------------------------------ the registry


def market_manifest(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Market as `MarketSpec.from_manifest` reads it, from a resource's body."""
    metadata = body.get("metadata", {})
    return {
        "apiVersion": body.get("apiVersion", API_VERSION),
        "kind": body.get("kind", KIND),
        "metadata": {"name": metadata.get("name")},
        "spec": copy.deepcopy(dict(body.get("spec", {}))),
    }


def registry_manifest(body: Mapping[str, Any], trading_state: str) -> dict[str, Any]:
    """What the registry keeps of a Market: its spec without the engine's pod, with the trading
    state the engine runs (or will start with), and which resource listed it."""
    metadata = body.get("metadata", {})
    spec = copy.deepcopy(dict(body.get("spec", {})))
    spec.pop("engine", None)
    spec["tradingState"] = trading_state
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "uid": metadata.get("uid"),
        },
        "spec": spec,
    }


def validate(
    body: Mapping[str, Any],
    listed: Mapping[str, MarketSpec],
    registered: Mapping[str, Any] | None,
) -> MarketSpec:
    """The market of a `Market` resource, or MarketError saying why it cannot be listed.

    `listed` is every market in the registry, `registered` the registry's manifest of this one's
    symbol (None if not listed). Refused: a market whose amounts would not be exact (the
    integrality rules of `MarketSpec`), an asset whose decimals differ from those of a listed
    market (balances of one asset are one integer unit across markets), a symbol that another
    resource has listed, and a new tick or lot size for a listed market (resting orders hold
    prices and quantities as integers of the old sizes)."""
    market = MarketSpec.from_manifest(market_manifest(body))
    for other in listed.values():
        if other.symbol == market.symbol:
            continue
        for mine in (market.base, market.quote):
            for theirs in (other.base, other.quote):
                if mine.symbol == theirs.symbol and mine.decimals != theirs.decimals:
                    raise MarketError(
                        f"{market.symbol}: {mine.symbol} has {mine.decimals} decimals here but "
                        f"{theirs.decimals} in the listed market {other.symbol}; an asset has "
                        "one unit across every market"
                    )
    if registered is None:
        return market
    owner = registered.get("metadata", {})
    metadata = body.get("metadata", {})
    if owner.get("uid") and owner.get("uid") != metadata.get("uid"):
        raise MarketError(
            f"{market.symbol} is already listed by the Market "
            f"{owner.get('namespace')}/{owner.get('name')}"
        )
    before = listed.get(market.symbol)
    if before is not None:
        for field, old, new in (
            ("tickSize", before.tick_size, market.tick_size),
            ("lotSize", before.lot_size, market.lot_size),
        ):
            if old != new:
                raise MarketError(
                    f"{market.symbol}: {field} cannot change from {old} to {new} on a listed "
                    "market: resting orders hold prices and quantities as integers of it; list "
                    "a new market instead"
                )
    return market
