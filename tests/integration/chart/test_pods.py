"""Every pod the release runs, the engines the operator makes for its Markets included: restricted
security contexts, resources, probes, no Kubernetes token it does not need, labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cryptex.settings import ApiSettings
from cryptex_dbproc.settings import DbprocSettings
from cryptex_mm.settings import MmSettings
from cryptex_operator.settings import OperatorSettings
from cryptex_ws.settings import WsSettings
from tests.integration.chart.chart import RELEASE, SCENARIOS, Pod, Rendered

# Pods that talk to the Kubernetes API: the operator and the log collector.
NEEDS_TOKEN = frozenset({"cryptex-operator", "cryptex-alloy"})
# Third-party images, each with its own non-root user.
THIRD_PARTY = frozenset({"cryptex-redis", "cryptex-timescaledb", "cryptex-alloy"})
LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)


def _setting(pod: Pod, container: Mapping[str, Any], key: str) -> Any:
    """A security setting of a container, falling back to its pod's (as the kubelet does)."""
    return container.get("securityContext", {}).get(key, pod.spec["securityContext"].get(key))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_container_is_restricted(rendered: dict[str, Rendered], scenario: str) -> None:
    problems = []
    for pod in rendered[scenario].pods():
        spec = pod.spec
        problems += [
            f"{pod.owner}: {flag}"
            for flag in ("hostNetwork", "hostPID", "hostIPC")
            if spec.get(flag)
        ]
        problems += [
            f"{pod.owner}: hostPath volume {volume['name']}"
            for volume in spec.get("volumes", [])
            if "hostPath" in volume
        ]
        if spec["securityContext"].get("seccompProfile") != {"type": "RuntimeDefault"}:
            problems.append(f"{pod.owner}: pod seccompProfile")
        for container in pod.containers():
            where = f"{pod.owner} container {container['name']}"
            context = container.get("securityContext", {})
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities.drop")
            if context.get("capabilities", {}).get("add"):
                problems.append(f"{where}: capabilities.add")
            if _setting(pod, container, "runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot")
            if _setting(pod, container, "runAsUser") in (None, 0):
                problems.append(f"{where}: runAsUser")
            if _setting(pod, container, "seccompProfile") != {"type": "RuntimeDefault"}:
                problems.append(f"{where}: seccompProfile")
            if context.get("privileged"):
                problems.append(f"{where}: privileged")
    assert problems == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cryptex_pods_run_as_the_images_user(rendered: dict[str, Rendered], scenario: str) -> None:
    """uid 10001: the Dockerfiles' USER and the operator's default for the engines."""
    uid = OperatorSettings.model_fields["engine_run_as_user"].default
    wrong = {
        pod.owner: pod.spec["securityContext"].get("runAsUser")
        for pod in rendered[scenario].pods()
        if pod.labels["app.kubernetes.io/name"] not in THIRD_PARTY
        and pod.spec["securityContext"].get("runAsUser") != uid
    }
    assert wrong == {}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_container_has_resources(rendered: dict[str, Rendered], scenario: str) -> None:
    missing = [
        f"{pod.owner} container {container['name']}: {part}.{resource}"
        for pod in rendered[scenario].pods()
        for container in pod.containers()
        for part in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in container.get("resources", {}).get(part, {})
    ]
    assert missing == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_long_running_container_has_probes(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    """Deployments and StatefulSets; a Job's or a test pod's container runs to its end."""
    missing = [
        f"{pod.owner} container {container['name']}: {probe}"
        for pod in rendered[scenario].pods()
        if pod.long_running
        for container in pod.spec["containers"]
        for probe in ("livenessProbe", "readinessProbe")
        if probe not in container
    ]
    assert missing == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probe_ports_are_container_ports(rendered: dict[str, Rendered], scenario: str) -> None:
    wrong = []
    for pod in rendered[scenario].pods():
        for container in pod.spec["containers"]:
            names = {port.get("name") for port in container.get("ports", [])}
            numbers = {port["containerPort"] for port in container.get("ports", [])}
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(kind, {})
                handler = probe.get("httpGet") or probe.get("tcpSocket")
                if handler is not None and handler["port"] not in names | numbers:
                    wrong.append(f"{pod.owner} {container['name']} {kind}: {handler['port']}")
    assert wrong == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_only_api_clients_get_a_token(rendered: dict[str, Rendered], scenario: str) -> None:
    wrong = []
    for pod in rendered[scenario].pods():
        name = pod.labels["app.kubernetes.io/name"]
        automount = pod.spec.get("automountServiceAccountToken")
        if name in NEEDS_TOKEN:
            if not pod.spec.get("serviceAccountName") or automount is not True:
                wrong.append(f"{pod.owner}: needs its own ServiceAccount and token")
        elif automount is not False:
            wrong.append(f"{pod.owner}: mounts a token it does not need")
    assert wrong == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_labels(rendered: dict[str, Rendered], scenario: str) -> None:
    """Every object carries the recommended labels; every pod is part of cryptex (the default
    deny selects on that) and its workload's selector picks its own template."""
    missing = [
        f"{obj['kind']}/{obj['metadata']['name']}: {label}"
        for obj in rendered[scenario].objects
        for label in (*LABELS, "helm.sh/chart")
        if label not in obj["metadata"].get("labels", {})
    ]
    assert missing == []
    for obj in rendered[scenario].objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE
    for pod in rendered[scenario].pods():
        assert pod.labels.get("app.kubernetes.io/part-of") == "cryptex", pod.owner
    for workload in rendered[scenario].of_kind("Deployment", "StatefulSet"):
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), workload["metadata"]["name"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_env_names_are_settings_the_services_read(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    """A CRYPTEX_ variable that no settings class defines would be ignored without a word."""
    settings: dict[str, Any] = {
        "cryptex-api": ApiSettings,
        "cryptex-ws": WsSettings,
        "cryptex-dbproc": DbprocSettings,
        "cryptex-mm": MmSettings,
        "cryptex-operator": OperatorSettings,
    }
    unknown = []
    for pod in rendered[scenario].pods(engines=False):
        cls = settings.get(pod.labels["app.kubernetes.io/name"])
        if cls is None:
            continue
        prefix = cls.model_config["env_prefix"]
        known = {prefix + name.upper() for name in cls.model_fields}
        for container in pod.spec["containers"]:
            unknown += [
                f"{pod.owner}: {item['name']}"
                for item in container.get("env", [])
                if item["name"].startswith("CRYPTEX_") and item["name"] not in known
            ]
    assert unknown == []
