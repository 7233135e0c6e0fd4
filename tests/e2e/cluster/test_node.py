"""The real node runs containers: pods get addresses on the CNI bridge, Services route to them
from the host (cluster IP and NodePort) and from pods, and pods reach the API server."""

from __future__ import annotations

import ipaddress
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster.conftest import testbed

pytestmark = pytest.mark.node

# Debian's busybox-static: one static binary, so its image is built here in a moment.
BUSYBOX = Path("/bin/busybox")
BUSYBOX_IMAGE = "localhost/cryptex-testbed/busybox:1"


@pytest.fixture(scope="module")
def busybox(node_cluster: Any) -> str:
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed: run make test-node")
    node = node_cluster.real_node
    archive = testbed.testbed_node.oci_archive(BUSYBOX.read_bytes(), str(BUSYBOX), BUSYBOX_IMAGE)
    node.import_archive(archive)
    return BUSYBOX_IMAGE


@pytest.fixture
def namespace(node_cluster: Any) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    node_cluster.kubectl("create", "namespace", name)
    yield name
    node_cluster.kubectl("delete", "namespace", name, "--wait=false")


def _pod(
    namespace: str, name: str, image: str, script: str, port: int | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["/bin/busybox", "sh", "-c", script],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if port:
        container["ports"] = [{"containerPort": port}]
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 1}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 1},
    }


def _phase(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = cluster.kubectl_json("get", "pod", name, "-n", namespace)
    return pod


def test_the_node_is_real_and_ready(node_cluster: Any) -> None:
    [node] = node_cluster.kubectl_json("get", "nodes")["items"]
    assert node["metadata"]["name"] == node_cluster.node_name
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == node_cluster.version
    assert info["containerRuntimeVersion"].startswith("containerd://")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == node_cluster.node_ip
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True"


def test_a_pod_runs_its_command_as_the_user_it_asks(
    node_cluster: Any, busybox: str, namespace: str
) -> None:
    node_cluster.apply(_pod(namespace, "hello", busybox, "id -u; hostname; sleep 3600"))

    def running() -> dict[str, Any] | None:
        pod = _phase(node_cluster, namespace, "hello")
        return pod if pod["status"].get("phase") == "Running" else None

    pod = node_cluster.wait_for("the pod Running", running, timeout=120)
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(
        testbed.testbed_node.POD_CIDR
    )

    def logged() -> list[str] | None:
        lines = node_cluster.kubectl("logs", "hello", "-n", namespace).stdout.split()
        return lines if len(lines) == 2 else None

    assert node_cluster.wait_for("the pod's output", logged) == ["10001", "hello"]


def test_services_route_from_the_host_and_from_pods(
    node_cluster: Any, busybox: str, namespace: str
) -> None:
    page = "served by a real pod"
    serve = (
        f"mkdir -p /tmp/www && echo '{page}' > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www"
    )
    web = _pod(namespace, "web", busybox, serve, port=8080)
    web["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    web["spec"]["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080}],
        },
    }
    node_cluster.apply(web, service)

    def ready() -> bool:
        pod = _phase(node_cluster, namespace, "web")
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        return conditions.get("Ready") == "True"

    node_cluster.wait_for("the web pod Ready", ready, timeout=120)
    spec = node_cluster.kubectl_json("get", "service", "web", "-n", namespace)["spec"]

    def fetch(url: str) -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: str = response.read().decode()
        return body

    for url in (
        f"http://{spec['clusterIP']}/",
        f"http://{node_cluster.node_ip}:{spec['ports'][0]['nodePort']}/",
    ):
        assert node_cluster.wait_for(f"{url} to answer", lambda url=url: fetch(url)) == f"{page}\n"

    # From a pod: the Service by its name (the cluster's DNS) and cluster IP, and the API
    # server by the `kubernetes` Service. (busybox-static's wget crashes without NSS files:
    # nc speaks the HTTP.)
    name = f"web.{namespace}.svc.cluster.local"
    probe = (
        f"nslookup {name} | grep -q {spec['clusterIP']} && echo resolved; "
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {spec['clusterIP']} 80 | tail -n 1; "
        f"nc -w 5 {testbed.SERVICE_IP} 443 </dev/null && echo api-reachable; sleep 3600"
    )
    node_cluster.apply(_pod(namespace, "client", busybox, probe))

    def output() -> list[str] | None:
        done = node_cluster.kubectl("logs", "client", "-n", namespace, check=False)
        lines = done.stdout.splitlines()
        return lines if len(lines) >= 3 else None

    lines = node_cluster.wait_for("the client's output", output, timeout=120)
    assert lines == ["resolved", page, "api-reachable"]
