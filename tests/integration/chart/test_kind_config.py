"""kind-config.yaml: the cluster the README's deployment section makes, ready for ingress-nginx."""

from __future__ import annotations

from typing import Any

import yaml

from tests.integration.chart.chart import KUBE_VERSION, REPO


def _config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    return loaded


def test_ingress_ports_are_mapped_to_the_host() -> None:
    config = _config()
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = config["nodes"]
    mapped = {(m["containerPort"], m["hostPort"], m["protocol"]) for m in node["extraPortMappings"]}
    assert mapped == {(80, 80, "TCP"), (443, 443, "TCP")}
    assert any("ingress-ready=true" in patch for patch in node["kubeadmConfigPatches"])


def test_node_runs_the_kubernetes_version_the_chart_is_checked_against() -> None:
    (node,) = _config()["nodes"]
    major_minor = ".".join(KUBE_VERSION.split(".")[:2])
    assert node["image"].startswith(f"kindest/node:v{major_minor}.")
