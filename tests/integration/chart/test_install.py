"""`helm install`, `upgrade` and `uninstall` for real, on the testbed's control plane (kwok plays
the kubelet: pods are scheduled and reported ready, no container runs). The minimal scenario,
whose kinds all have their definitions there; hooks are skipped (the migrations Job would never
complete without a real pod). What the other tests cannot see: helm's own install path (the CRD
from crds/, NOTES.txt), pods admitted under the restricted standard, generated secrets kept
across an upgrade, and Markets left in place by an uninstall."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart.chart import RELEASE, Helm, scenario_values

pytestmark = pytest.mark.kube


def _deployments_available(kube_cluster: Any, namespace: str) -> bool:
    found = kube_cluster.kubectl_json("get", "deployments", "-n", namespace)["items"]
    return bool(found) and all(
        item["status"].get("availableReplicas", 0) == item["spec"]["replicas"] for item in found
    )


def test_install_upgrade_uninstall(
    helm: Helm, kube_cluster: Any, restricted_namespace: str
) -> None:
    namespace = restricted_namespace
    target = ["--kubeconfig", str(kube_cluster.kubeconfig), "--namespace", namespace]
    values = scenario_values("minimal")

    installed = helm.run("install", RELEASE, str(helm.chart), *values, "--no-hooks", *target)
    assert "helm test cx" in installed.stdout  # NOTES.txt
    assert "kubectl -n " + namespace + " get markets" in installed.stdout

    # Every pod the release asks for is admitted under the restricted standard and goes ready.
    kube_cluster.wait_for(
        "the release's Deployments to be available",
        lambda: _deployments_available(kube_cluster, namespace),
        timeout=90,
    )
    markets = kube_cluster.kubectl_json("get", "markets", "-n", namespace)["items"]
    assert [market["metadata"]["name"] for market in markets] == ["sol-usdc"]

    def secrets() -> dict[str, Any]:
        found = kube_cluster.kubectl_json("get", "secrets", "-n", namespace)["items"]
        # The chart's own, not helm's release records.
        names = {item["metadata"]["name"]: item["data"] for item in found}
        return {name: data for name, data in names.items() if name.startswith(f"{RELEASE}-")}

    before = secrets()
    assert {"cx-cryptex-auth", "cx-cryptex-redis", "cx-cryptex-timescaledb"} <= before.keys()
    helm.run("upgrade", RELEASE, str(helm.chart), *values, "--no-hooks", *target)
    assert secrets() == before, "an upgrade must keep the generated passwords"

    helm.run("uninstall", RELEASE, *target)
    kept = kube_cluster.kubectl_json("get", "markets", "-n", namespace)["items"]
    assert [market["metadata"]["name"] for market in kept] == ["sol-usdc"]
    left = kube_cluster.kubectl_json("get", "deployments", "-n", namespace)["items"]
    assert left == []
    kube_cluster.kubectl("delete", "markets", "--all", "-n", namespace)
