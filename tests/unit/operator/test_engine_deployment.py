"""The engine Deployment and Service as plain dicts, compared whole."""

from __future__ import annotations

from typing import Any

from cryptex.markets import MarketSpec
from cryptex_operator import manifests
from cryptex_operator.manifests import EngineConfig
from tests.unit.operator.markets import resource

CONFIG = EngineConfig(redis_url="redis://redis.cryptex:6379/0")
SOL = MarketSpec.from_manifest(manifests.market_manifest(resource()))
LABELS = {
    "app.kubernetes.io/name": "cryptex-engine",
    "cryptex.io/market": "sol-usdc",
    "app.kubernetes.io/instance": "sol-usdc-engine",
    "app.kubernetes.io/component": "matching-engine",
    "app.kubernetes.io/part-of": "cryptex",
    "app.kubernetes.io/managed-by": "cryptex-operator",
}
SELECTOR = {"app.kubernetes.io/name": "cryptex-engine", "cryptex.io/market": "sol-usdc"}
PROBE = {"httpGet": {"path": "/healthz", "port": "metrics"}, "timeoutSeconds": 2}


def deployment(config: EngineConfig = CONFIG, **spec: Any) -> dict[str, Any]:
    body = resource(**spec)
    return manifests.deployment("sol-usdc", "cryptex", SOL, body["spec"]["engine"], config)


def test_the_deployment_runs_one_engine_with_a_restricted_pod() -> None:
    built = deployment()
    template = built["spec"]["template"]
    assert built == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "sol-usdc-engine",
            "namespace": "cryptex",
            "labels": LABELS,
            "annotations": {"cryptex.io/template-hash": manifests.template_hash(template)},
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "containers": [
                        {
                            "name": "engine",
                            "image": "cryptex/engine:0.1.0",
                            "command": ["cryptex-engine"],
                            "env": [
                                {"name": "CRYPTEX_MARKET", "value": "SOL_USDC"},
                                {"name": "CRYPTEX_REDIS_URL", "value": CONFIG.redis_url},
                                {"name": "CRYPTEX_METRICS_PORT", "value": "9101"},
                            ],
                            "ports": [
                                {"name": "metrics", "containerPort": 9101, "protocol": "TCP"}
                            ],
                            "startupProbe": {**PROBE, "periodSeconds": 5, "failureThreshold": 120},
                            "livenessProbe": {**PROBE, "periodSeconds": 10, "failureThreshold": 3},
                            "readinessProbe": {**PROBE, "periodSeconds": 5, "failureThreshold": 2},
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }
                    ],
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
    }


def test_the_selector_is_a_subset_of_the_pod_labels() -> None:
    built = deployment()
    pod_labels = built["spec"]["template"]["metadata"]["labels"]
    assert built["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_a_change_of_image_or_resources_is_a_new_pod_template_with_a_new_hash() -> None:
    before = deployment()
    bigger = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    for changed in (
        deployment(engine={"image": "cryptex/engine:0.2.0", "resources": bigger}),
        deployment(engine={"image": "cryptex/engine:0.1.0", "resources": bigger}),
        deployment(engine={"image": "cryptex/engine:0.2.0"}),
    ):
        assert changed["spec"]["template"] != before["spec"]["template"]
        assert manifests.desired_hash(changed) != manifests.desired_hash(before)
        assert {k: v for k, v in changed["spec"].items() if k != "template"} == {
            k: v for k, v in before["spec"].items() if k != "template"
        }


def test_the_same_spec_builds_the_same_hash() -> None:
    assert manifests.desired_hash(deployment()) == manifests.desired_hash(deployment())
    stored = {**deployment(), "status": {"readyReplicas": 1}}
    assert manifests.stored_hash(stored) == manifests.desired_hash(deployment())
    assert manifests.stored_hash(None) is None
    assert manifests.stored_hash({"metadata": {}}) is None


def test_pull_policy_and_a_redis_url_from_a_secret() -> None:
    config = EngineConfig(redis_url="unused", redis_url_secret="redis-auth/url", metrics_port=9200)
    built = deployment(
        config, engine={"image": "cryptex/engine:0.1.0", "imagePullPolicy": "Always"}
    )
    [container] = built["spec"]["template"]["spec"]["containers"]
    assert container["imagePullPolicy"] == "Always"
    assert container["env"] == [
        {"name": "CRYPTEX_MARKET", "value": "SOL_USDC"},
        {
            "name": "CRYPTEX_REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "url"}},
        },
        {"name": "CRYPTEX_METRICS_PORT", "value": "9200"},
    ]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9200, "protocol": "TCP"}]
    assert container["resources"] == {}


def test_the_service_exposes_the_metrics_port_of_the_engine_pod() -> None:
    built = manifests.service("sol-usdc", "cryptex", CONFIG)
    spec = {
        "type": "ClusterIP",
        "selector": SELECTOR,
        "ports": [{"name": "metrics", "port": 9101, "targetPort": "metrics", "protocol": "TCP"}],
    }
    assert built == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "sol-usdc-engine",
            "namespace": "cryptex",
            "labels": LABELS,
            "annotations": {"cryptex.io/template-hash": manifests.template_hash(spec)},
        },
        "spec": spec,
    }
