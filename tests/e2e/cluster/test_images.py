"""The six images (make images) on the real node, each run as the chart runs it: uid 10001,
a read-only root filesystem, no capabilities, /tmp the one writable mount. Each entrypoint
starts: the engine prints its usage; the services, given no settings, stop at their own
configuration check, which they reach only once every module has been imported."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.node

TAG = "0.1.0"
# What each entrypoint says when it starts with no arguments and no settings.
EXPECTED = {
    "engine": ("--help", "usage: cryptex-engine"),
    "api": (None, "CRYPTEX_DATABASE_URL: Field required"),
    "ws": (None, "CRYPTEX_JWT_SECRET: required outside dev mode"),
    "dbproc": (None, "CRYPTEX_DATABASE_URL: Field required"),
    "mm": (None, "CRYPTEX_MM_EMAIL: Field required"),
    "operator": (None, "CRYPTEX_NAMESPACES: Field required"),
}


@pytest.fixture(scope="module")
def images(node_cluster: Any) -> dict[str, str]:
    names = {name: f"cryptex/{name}:{TAG}" for name in EXPECTED}
    for image in names.values():
        found = subprocess.run(["buildah", "inspect", "--type=image", image], capture_output=True)
        if found.returncode != 0:
            pytest.skip(f"{image} is not built: run make images")
    node_cluster.real_node.import_buildah_images(list(names.values()))
    return names


@pytest.fixture
def namespace(node_cluster: Any) -> Iterator[str]:
    name = f"images-{uuid.uuid4().hex[:8]}"
    node_cluster.kubectl("create", "namespace", name)
    yield name
    node_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_image_starts_as_the_chart_runs_it(
    node_cluster: Any, images: dict[str, str], namespace: str, name: str
) -> None:
    argument, expected = EXPECTED[name]
    container: dict[str, Any] = {
        "name": name,
        "image": images[name],
        "imagePullPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if argument:
        container["args"] = [argument]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }
    node_cluster.apply(pod)

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = node_cluster.kubectl_json("get", "pod", name, "-n", namespace)
        return found if found["status"].get("phase") in ("Succeeded", "Failed") else None

    found = node_cluster.wait_for(f"the {name} pod to finish", finished, timeout=180)
    [status] = found["status"]["containerStatuses"]
    log = node_cluster.kubectl("logs", name, "-n", namespace).stdout
    assert expected in log, log
    # runAsNonRoot with no runAsUser: kubelet starts it only as a numeric non-root image user.
    assert status["state"]["terminated"]["exitCode"] == (0 if argument else 1)
