"""A real Kubernetes control plane (hack/testbed), started once for the session, and the Market
CRD installed on it once (`market_crd`).

The binaries come from `hack/testbed/build.sh`; without them every test here is skipped.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[3]
_TESTBED = _REPO / "hack" / "testbed" / "testbed.py"
MARKET_CRD = _REPO / "crds" / "market.yaml"
MARKET_CRD_NAME = "markets.cryptex.io"


def _load_testbed() -> ModuleType:
    # hack/ is tooling, not an installed package, so the module is loaded from its path.
    spec = importlib.util.spec_from_file_location("cryptex_testbed", _TESTBED)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


testbed = _load_testbed()


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A started `testbed.ControlPlane`.

    Its `kubeconfig` is an admin's; `kubectl(*args)`, `kubectl_json(*args)`, `apply(*manifests)`
    and `wait_for(what, check, timeout)` drive it. Component logs are in `dir / "logs"`.
    """
    bin_dir = testbed.default_bin_dir()
    if testbed.missing_binaries(bin_dir):
        pytest.skip("kube testbed binaries not built: run hack/testbed/build.sh")
    cluster = testbed.ControlPlane(bin_dir, tmp_path_factory.mktemp("kube"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def namespace(kube_cluster: Any) -> Iterator[str]:
    """A fresh namespace, so that tests sharing the cluster cannot see each other's objects."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


def crd_condition(crd: dict[str, Any], kind: str) -> str | None:
    """The status ("True", "False", "Unknown") of a CRD's condition `kind`; None without it."""
    for condition in crd.get("status", {}).get("conditions", []):
        if condition["type"] == kind:
            status: str = condition["status"]
            return status
    return None


@pytest.fixture(scope="session")
def market_crd(kube_cluster: Any) -> Iterator[dict[str, Any]]:
    """crds/market.yaml installed and Established; the CRD as the server holds it."""
    kube_cluster.kubectl("apply", "-f", str(MARKET_CRD))
    try:

        def established() -> dict[str, Any] | None:
            found: dict[str, Any] = kube_cluster.kubectl_json("get", "crd", MARKET_CRD_NAME)
            return found if crd_condition(found, "Established") == "True" else None

        crd = kube_cluster.wait_for(f"{MARKET_CRD_NAME} to be Established", established)
        # Established means served; kubectl still has to discover the new resource.
        kube_cluster.wait_for(
            "kubectl to discover markets",
            lambda: kube_cluster.kubectl("get", "markets", "-A", check=False).returncode == 0,
        )
        yield crd
    finally:
        # Its Markets go with it: one left with a finalizer (a test that failed halfway) would
        # hold the deletion up, and the timeout then says so.
        kube_cluster.kubectl(
            "delete", "crd", MARKET_CRD_NAME, "--ignore-not-found", "--timeout=60s"
        )
