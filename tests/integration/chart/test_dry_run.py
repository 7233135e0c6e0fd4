"""The rendered chart, and the engines its operator would make, pass a server-side dry run on the
testbed's real kube-apiserver (tests/integration/kube), in a namespace that enforces the
restricted Pod Security Standard: defaulting, validation, admission, and not one PodSecurity
warning. The Market CRD is installed first; the Prometheus Operator's kinds have no CRD there
and are left out (test_selectors and test_promql check them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.chart.chart import SCENARIOS, Helm

pytestmark = pytest.mark.kube

WITHOUT_CRD = frozenset({"ServiceMonitor", "PodMonitor", "PrometheusRule"})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_server_side_dry_run(
    helm: Helm, kube_cluster: Any, restricted_namespace: str, scenario: str
) -> None:
    # The operator watches the namespace it is installed in here, whatever the scenario says:
    # its Roles must land in namespaces that exist.
    rendered = helm.template(
        scenario,
        restricted_namespace,
        ["--set", f"operator.watchNamespaces={{{restricted_namespace}}}"],
    )
    objects = [obj for obj in rendered.objects if obj["kind"] not in WITHOUT_CRD]
    objects += rendered.engine_deployments()
    for obj in objects:
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            obj["metadata"]["name"] += f"-{restricted_namespace}"  # one per test, never shared
    items = {"apiVersion": "v1", "kind": "List", "items": objects}
    done = kube_cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(items), check=False
    )
    assert done.returncode == 0, done.stderr
    assert "would violate PodSecurity" not in done.stderr, done.stderr
    assert done.stderr.strip() == "", done.stderr
    applied = [line for line in done.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(applied) == len(objects), done.stdout


def test_the_namespace_refuses_an_unrestricted_pod(
    kube_cluster: Any, restricted_namespace: str
) -> None:
    """The control: the same dry run refuses a pod with no security context at all."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unrestricted", "namespace": restricted_namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    done = _dry_run(kube_cluster, [pod])
    assert done.returncode != 0
    assert "violates PodSecurity" in done.stderr, done.stderr


def _dry_run(kube_cluster: Any, objects: list[dict[str, Any]]) -> Any:
    items = {"apiVersion": "v1", "kind": "List", "items": objects}
    return kube_cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(items), check=False
    )
