"""A real Kubernetes control plane (hack/testbed), started once for the session.

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

_TESTBED = Path(__file__).resolve().parents[3] / "hack" / "testbed" / "testbed.py"


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
