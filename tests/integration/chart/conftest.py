"""The chart's fixtures: the real helm and promtool (skipped without them), each scenario rendered
once per session, and the fixtures this folder borrows from its neighbours: the Kubernetes
testbed (tests/integration/kube) and the API with its PostgreSQL (tests/integration/api)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import postgres_server, stack
from tests.integration.chart.chart import (
    SCENARIOS,
    Helm,
    Rendered,
    chart_without_dependencies,
    find_helm,
)
from tests.integration.kube.conftest import kube_cluster, market_crd

__all__ = ["kube_cluster", "market_crd", "postgres_server", "stack"]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = find_helm()
    if binary is None:
        pytest.skip("helm not found: run hack/helm/install.sh (or set CRYPTEX_HELM)")
    chart = chart_without_dependencies(tmp_path_factory.mktemp("chart") / "cryptex")
    return Helm(binary, chart, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def promtool() -> Path:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not found: apt-get install prometheus")
    return Path(found)


@pytest.fixture
def restricted_namespace(kube_cluster: Any, market_crd: dict[str, Any]) -> Iterator[str]:
    """A fresh testbed namespace that enforces the restricted Pod Security Standard (and warns
    about workloads whose pods would break it); the Market CRD is installed."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    modes = ("enforce", "warn", "audit")
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in modes}
    kube_cluster.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    )
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="session")
def rendered(helm: Helm) -> dict[str, Rendered]:
    """Every scenario, rendered once."""
    return {scenario: helm.template(scenario) for scenario in SCENARIOS}
