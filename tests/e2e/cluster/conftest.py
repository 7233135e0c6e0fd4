"""A testbed with a real node (hack/testbed, `--node`): containerd with runc, a CNI bridge,
kubelet and kube-proxy, started once for the package and stopped at its end.

It needs root, Debian's containerd, runc, containernetworking-plugins, iptables and conntrack,
and `hack/testbed/build.sh --node`: `make test-node` provides them all. Without them the tests
here are skipped, saying what is missing; `make test` deselects them (each module's `node`
marker).
"""

from __future__ import annotations

import importlib.util
import os
import sys
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


testbed = sys.modules.get("cryptex_testbed") or _load_testbed()


@pytest.fixture(scope="package")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A started `testbed.ControlPlane` whose node is real."""
    if os.geteuid() != 0:
        pytest.skip("a real node needs root (kubelet, containerd, the CNI bridge)")
    bin_dir = testbed.default_bin_dir()
    missing = testbed.missing_binaries(bin_dir, "real") + testbed.testbed_node.missing_tools()
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: run make test-node")
    cluster = testbed.ControlPlane(bin_dir, tmp_path_factory.mktemp("node"), node="real")
    cluster.start(timeout=240)
    try:
        yield cluster
    finally:
        cluster.stop()
