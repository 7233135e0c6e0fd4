"""Every selector in the chart picks what it means to: Services, PodDisruptionBudgets,
NetworkPolicies and HPAs pick pods the release runs (the operator's engine pods included, as the
operator builds them), ServiceMonitors pick Services, the PodMonitor picks engines, and every
port named along the way exists."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.integration.chart.chart import SCENARIOS, Pod, Rendered, matches

# The release's Deployments that may scale on load; everything else has a fixed size.
AUTOSCALED = frozenset({"cryptex-api", "cryptex-ws"})


def _selected(rendered: Rendered, selector: Mapping[str, Any]) -> list[Pod]:
    return [pod for pod in rendered.pods() if matches(selector, pod.labels)]


def _name(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_services_select_pods_with_their_ports(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    for service in rendered[scenario].of_kind("Service"):
        pods = _selected(rendered[scenario], service["spec"]["selector"])
        assert pods, f"{_name(service)} selects no pod"
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            assert all(target in pod.container_ports() for pod in pods), (_name(service), target)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_disruption_budgets_select_pods(rendered: dict[str, Rendered], scenario: str) -> None:
    for budget in rendered[scenario].of_kind("PodDisruptionBudget"):
        pods = _selected(rendered[scenario], budget["spec"]["selector"])
        assert pods, f"{_name(budget)} selects no pod"
        assert all(pod.long_running for pod in pods), _name(budget)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_engine_budget_covers_every_engine(rendered: dict[str, Rendered], scenario: str) -> None:
    budget = rendered[scenario].component("PodDisruptionBudget", "engine")
    engines = {pod.owner for pod in _selected(rendered[scenario], budget["spec"]["selector"])}
    assert len(engines) == len(rendered[scenario].of_kind("Market"))
    assert all(owner.startswith("engine ") for owner in engines)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_autoscalers_scale_only_api_and_ws(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    for hpa in release.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        deployment = release.named("Deployment", target["name"])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] in AUTOSCALED, _name(hpa)
        # The HPA owns the replica count; a fixed one would fight it at every upgrade.
        assert "replicas" not in deployment["spec"], _name(deployment)
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def _peers(policy: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for direction, key in (("ingress", "from"), ("egress", "to")):
        for rule in policy["spec"].get(direction, []):
            for peer in rule.get(key, []):
                yield direction, peer


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_network_policies_select_pods(rendered: dict[str, Rendered], scenario: str) -> None:
    """Each policy applies to some pod, and each peer that names pods of this namespace (no
    namespaceSelector) names pods the release runs."""
    release = rendered[scenario]
    for policy in release.of_kind("NetworkPolicy"):
        assert _selected(release, policy["spec"]["podSelector"]), f"{_name(policy)}: no pod"
        for direction, peer in _peers(policy):
            if "podSelector" in peer and "namespaceSelector" not in peer:
                assert _selected(release, peer["podSelector"]), (_name(policy), direction, peer)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_default_deny_covers_every_pod(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    deny = release.component("NetworkPolicy", "default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"]
    assert {pod.owner for pod in _selected(release, deny["spec"]["podSelector"])} == {
        pod.owner for pod in release.pods()
    }
    # Every pod has a policy of its own besides the default deny.
    for pod in release.pods():
        own = [
            policy
            for policy in release.of_kind("NetworkPolicy")
            if policy is not deny and matches(policy["spec"]["podSelector"], pod.labels)
        ]
        assert own, f"{pod.owner} has only the default deny"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_network_policy_ingress_ports_are_served(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    """An allowed port that no selected container listens on is a typo, or a stale rule."""
    release = rendered[scenario]
    for policy in release.of_kind("NetworkPolicy"):
        pods = _selected(release, policy["spec"]["podSelector"])
        served = {number for pod in pods for number in pod.container_ports().values()}
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                assert port["port"] in served, (_name(policy), port)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_service_monitors_select_services(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    monitors = release.of_kind("ServiceMonitor")
    for monitor in monitors:
        spec = monitor["spec"]
        assert spec["namespaceSelector"]["matchNames"] == [release.namespace]
        services = [
            service
            for service in release.of_kind("Service")
            if matches(spec["selector"], service["metadata"]["labels"])
        ]
        assert len(services) == 1, f"{_name(monitor)} selects {len(services)} Services"
        port_names = {port["name"] for port in services[0]["spec"]["ports"]}
        for endpoint in spec["endpoints"]:
            assert endpoint["port"] in port_names, (_name(monitor), endpoint["port"])
        # The jobLabel must be a label of the Service: it names the job in every series.
        assert spec["jobLabel"] in services[0]["metadata"]["labels"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pod_monitor_selects_every_engine(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    for monitor in release.of_kind("PodMonitor"):
        spec = monitor["spec"]
        engines = _selected(release, spec["selector"])
        assert len(engines) == len(release.of_kind("Market"))
        for engine in engines:
            assert engine.owner.startswith("engine ")
            assert spec["jobLabel"] in engine.labels
            assert release.namespace in spec["namespaceSelector"]["matchNames"]
            for endpoint in spec["podMetricsEndpoints"]:
                assert endpoint["port"] in engine.container_ports()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ingress_backends_exist(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    for ingress in release.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = release.named("Service", backend["name"])
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
