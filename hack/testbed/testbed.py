"""A throwaway Kubernetes control plane on 127.0.0.1, for tests and for people.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as plain
processes from the binaries that build.sh leaves in its cache. kwok plays the kubelet
of one fake node, so Pods get scheduled and go Running without a container runtime.
With `--node real` (root; `build.sh --node`), a real node takes kwok's place: containerd,
kubelet, kube-proxy, a CNI bridge and CoreDNS (testbed_node.py), so Pods run containers.
Stdlib only: certificates come from the openssl CLI, and kubeconfigs are written as
JSON, which every YAML reader accepts.

    hack/testbed/build.sh [--node]
    python hack/testbed/testbed.py up [--node real]  # prints an `export KUBECONFIG=...` line
    python hack/testbed/testbed.py down
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# hack/ is tooling, not a package: the node's module is found next to this one, also when
# this file is loaded by its path (the tests' conftest).
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import testbed_node  # noqa: E402

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)
# Stopped in this order, one group at a time: clients first, storage last. A real node's pods
# are deleted before its kubelet stops (_stop_in_order).
STOP_ORDER = (
    ("kwok", "kube-scheduler", "kube-controller-manager", "coredns"),
    ("kube-proxy", "kubelet"),
    ("containerd",),
    ("kube-apiserver",),
    ("etcd",),
)
# The node: "kwok" pretends (fast, no root), "real" runs containers (testbed_node).
NODE_KINDS = ("kwok", "real")
NODE_NAME = "kwok-node-0"
# kwok drives only the nodes annotated so; a real node is never taken over.
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
KUBERNETES_DNS = ",".join(
    f"DNS:{name}"
    for name in (
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    )
)


def _required_version(go_mod: Path, module: str) -> str:
    pattern = rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)"
    match = re.search(pattern, go_mod.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{module} is not required in {go_mod}")
    return match.group(1)


def coredns_bin_dir() -> Path:
    """CoreDNS follows its own pin (coredns/go.mod), so build.sh keeps it apart."""
    version = _required_version(HERE / "coredns" / "go.mod", "github.com/coredns/coredns")
    return cache_root() / f"coredns-{version}" / "bin"


def versions() -> tuple[str, str]:
    """(Kubernetes, kwok) versions; the go.mod files are their one source, as for build.sh."""
    return (
        _required_version(HERE / "go.mod", "k8s.io/kubernetes"),
        _required_version(HERE / "kwok" / "go.mod", "sigs.k8s.io/kwok"),
    )


def cache_root() -> Path:
    if os.environ.get("CRYPTEX_TESTBED_CACHE"):
        return Path(os.environ["CRYPTEX_TESTBED_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "cryptex-testbed"


def default_bin_dir() -> Path:
    k8s, kwok = versions()
    return cache_root() / f"{k8s}-kwok-{kwok}" / "bin"


def missing_binaries(bin_dir: Path, node: str = "kwok") -> list[str]:
    """What build.sh (with --node for a real node) has yet to build into `bin_dir`."""
    wanted = BINARIES + (testbed_node.NODE_BINARIES if node == "real" else ())
    return [name for name in wanted if not os.access(_binary(bin_dir, name), os.X_OK)]


def _binary(bin_dir: Path, name: str) -> Path:
    return (coredns_bin_dir() if name == "coredns" else bin_dir) / name


class ProcessExitedError(RuntimeError):
    """A control-plane process died, so waiting any longer is pointless."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
        except ProcessExitedError:
            raise
        except Exception as error:  # retried until the deadline, then reported
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"; last error: {last_error}" if last_error else ""
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def _free_ports(count: int) -> list[int]:
    # Bound all at once, so the kernel cannot hand out the same port twice.
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _extensions(node_ip: str | None) -> str:
    """Passed with -extfile, so the certificates do not depend on the system's openssl.cnf.

    With a real node, the API server is reached at the node's address too (the `kubernetes`
    Service's endpoint, for pods), and kubelet serves on it.
    """
    extra = f",IP:{node_ip}" if node_ip else ""
    node = f"IP:{node_ip},DNS:{testbed_node.NODE_NAME}" if node_ip else "DNS:localhost"
    return f"""\
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:{SERVICE_IP}{extra},{KUBERNETES_DNS}
[kubelet]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {node}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
"""


class _Pki:
    def __init__(self, directory: Path, node_ip: str | None = None) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "extensions.cnf").write_text(_extensions(node_ip))

    def _openssl(self, *args: str) -> None:
        done = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")

    def key(self, name: str, algorithm: str = "EC") -> Path:
        option = "ec_paramgen_curve:P-256" if algorithm == "EC" else "rsa_keygen_bits:2048"
        self._openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", option, "-out", f"{name}.key")
        return self.dir / f"{name}.key"

    def cert(self, name: str, subject: str, profile: str) -> tuple[Path, Path]:
        self.key(name)
        self._openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr")
        issuer = ["-CA", "ca.crt", "-CAkey", "ca.key"]
        if profile == "ca":
            issuer = ["-signkey", "ca.key"]
        serial = str(secrets.randbits(63))
        self._openssl(
            *("x509", "-req", "-in", f"{name}.csr", *issuer, "-set_serial", serial, "-days", "7"),
            *("-extfile", "extensions.cnf", "-extensions", profile, "-out", f"{name}.crt"),
        )
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"


class ControlPlane:
    """The testbed in `work_dir`; `start()` returns once Pods can be scheduled and run.

    `node="kwok"`: one fake node; `node="real"`: a node that runs containers (testbed_node).
    """

    def __init__(self, bin_dir: Path, work_dir: Path, node: str = "kwok") -> None:
        if node not in NODE_KINDS:
            raise ValueError(f"node must be one of {NODE_KINDS}, not {node!r}")
        self.bin_dir = Path(bin_dir).resolve()
        self.dir = Path(work_dir).resolve()
        self.kubeconfig = self.dir / "kubeconfig"
        self.ca_file = self.dir / "pki" / "ca.crt"
        self.server = ""
        self.node = node
        self.real_node = testbed_node.RealNode(self.bin_dir, self.dir) if node == "real" else None
        self.node_name = self.real_node.name if self.real_node else NODE_NAME
        self.version = versions()[0]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, timeout: float = 120) -> None:
        missing = missing_binaries(self.bin_dir, self.node)
        if missing:
            flag = " --node" if self.node == "real" else ""
            raise FileNotFoundError(
                f"{', '.join(missing)} missing in {self.bin_dir}: run hack/testbed/build.sh{flag}"
            )
        if self.real_node:
            self.real_node.claim(_is_running)
        try:
            self._start(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        if self.real_node:
            self.real_node.record(self.pids, self.exes)

    def stop(self) -> None:
        """TERM each group, wait for it, KILL what is left; a real node is drained first."""

        def stop_group(group: tuple[str, ...]) -> None:
            procs = [self.processes.pop(name) for name in group if name in self.processes]
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

        alive = (
            "kube-apiserver" in self.processes and self.processes["kube-apiserver"].poll() is None
        )
        _stop_in_order(stop_group, self.real_node, self.kubectl if alive else None)

    @property
    def exes(self) -> dict[str, str]:
        return {name: str(proc.args[0]) for name, proc in self.processes.items()}  # type: ignore[index]

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.processes.items()}

    @property
    def node_ip(self) -> str:
        """Where pods and NodePorts are reached from the host: the real node's address."""
        return self.real_node.ip if self.real_node else "127.0.0.1"

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            str(self.bin_dir / "kubectl"),
            f"--kubeconfig={kubeconfig or self.kubeconfig}",
            # The default discovery cache is in $HOME and would outlive the cluster.
            f"--cache-dir={self.dir / 'kubectl-cache'}",
            *args,
        ]
        done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, *manifests: dict[str, Any]) -> None:
        items = {"apiVersion": "v1", "kind": "List", "items": list(manifests)}
        self.kubectl("apply", "-f", "-", input=json.dumps(items))

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        """`wait_for` that fails at once, with the log, if a component dies meanwhile."""

        def checked() -> Any:
            self._check_alive()
            return check()

        return wait_for(what, checked, timeout)

    def write_kubeconfig(self, path: Path, user: str, credentials: dict[str, str]) -> Path:
        """A kubeconfig for this cluster with the given credentials, e.g. {"token": ...}."""
        cluster = {"server": self.server, "certificate-authority": str(self.ca_file)}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "testbed", "cluster": cluster}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": user}}],
            "current-context": "testbed",
        }
        path.write_text(json.dumps(config, indent=2) + "\n")
        return path

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.dir / "logs" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _start(self, deadline: float) -> None:
        def remaining() -> float:
            return max(deadline - time.monotonic(), 1.0)

        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        etcd_port, peer_port, api_port = _free_ports(3)
        self.server = f"https://127.0.0.1:{api_port}"
        node = self.real_node
        pki = _Pki(self.dir / "pki", node.ip if node else None)
        ca_crt, ca_key = pki.cert("ca", "/CN=cryptex-testbed-ca", "ca")
        serving_crt, serving_key = pki.cert("apiserver", "/CN=kube-apiserver", "server")
        sa_key = pki.key("service-account", "RSA")
        # Each component gets the identity that the RBAC bootstrap policy grants its rights to.
        users = {
            "admin": "/O=system:masters/CN=cryptex-admin",
            "controller-manager": "/CN=system:kube-controller-manager",
            "scheduler": "/CN=system:kube-scheduler",
        }
        if node:
            users |= {
                "kubelet": f"/O=system:nodes/CN=system:node:{node.name}",
                "kube-proxy": "/CN=system:kube-proxy",
                # Reads Services, EndpointSlices, Namespaces and Pods cluster-wide.
                "coredns": "/O=system:masters/CN=coredns",
            }
        else:
            users["kwok"] = "/O=system:masters/CN=kwok-controller"
        for user, subject in users.items():
            crt, key = pki.cert(user, subject, "client")
            path = self.kubeconfig if user == "admin" else self.dir / f"{user}.kubeconfig"
            credentials = {"client-certificate": str(crt), "client-key": str(key)}
            self.write_kubeconfig(path, user, credentials)
        # The API server's own identity towards kubelets (logs, exec, port-forward).
        kubelet_client = pki.cert(
            "apiserver-kubelet-client",
            "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "client",
        )

        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        self._spawn(
            "etcd",
            f"--data-dir={self.dir / 'etcd'}",
            "--name=testbed",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=testbed={peer_url}",
        )
        if node:
            # Pods reach the API server through the `kubernetes` Service, whose endpoint is
            # the node's address, kept by the lease reconciler.
            where = ["--bind-address=0.0.0.0", f"--advertise-address={node.ip}"]
            where += ["--endpoint-reconciler-type=lease"]
        else:
            # Endpoints may not hold a loopback address: there is nothing worth reconciling.
            where = ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"]
            where += ["--endpoint-reconciler-type=none"]
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={etcd_url}",
            *where,
            f"--secure-port={api_port}",
            f"--tls-cert-file={serving_crt}",
            f"--tls-private-key-file={serving_key}",
            f"--client-ca-file={ca_crt}",
            "--authorization-mode=Node,RBAC",
            # As production clusters do: setting an ownerReference with blockOwnerDeletion
            # needs the right to update the owner's finalizers (operator/rbac.yaml grants it).
            "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--kubelet-client-certificate={kubelet_client[0]}",
            f"--kubelet-client-key={kubelet_client[1]}",
            f"--kubelet-certificate-authority={ca_crt}",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
        )
        self.wait_for("kube-apiserver /readyz", self._apiserver_ready, remaining())
        self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={self.dir / 'controller-manager.kubeconfig'}",
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={sa_key}",
            f"--root-ca-file={ca_crt}",
            f"--cluster-signing-cert-file={ca_crt}",
            f"--cluster-signing-key-file={ca_key}",
            "--leader-elect=false",
            "--secure-port=0",
            "--profiling=false",
        )
        # Without a scheduler no Pod would ever be bound to the fake node.
        self._spawn(
            "kube-scheduler",
            f"--kubeconfig={self.dir / 'scheduler.kubeconfig'}",
            "--leader-elect=false",
            "--secure-port=0",
            "--profiling=false",
        )
        if node:
            self._start_real_node(node, pki, remaining)
        else:
            self._start_kwok(remaining)
        # Pods can be created in a namespace only once it has its default ServiceAccount,
        # which is the controller manager's doing: its arrival shows that works too.
        self.wait_for("the default ServiceAccount", self._default_service_account, remaining())

    def _start_real_node(
        self, node: testbed_node.RealNode, pki: _Pki, remaining: Callable[[], float]
    ) -> None:
        node.prepare_host()
        kubelet_tls = pki.cert("kubelet-serving", f"/CN={node.name}", "kubelet")
        dns_port, *ports = _free_ports(5)
        node.write_configs(self.ca_file, kubelet_tls, ports, dns_ip=testbed_node.DNS_SERVICE_IP)
        self._spawn("coredns", *node.coredns_args(dns_port))
        self.apply(*node.dns_manifests(dns_port))
        self._spawn("containerd", *node.containerd_args())
        self.wait_for("containerd's socket", node.containerd_socket.exists, remaining())
        self.wait_for(
            "containerd to answer",
            lambda: node.ctr("version", check=False).returncode == 0,
            remaining(),
        )
        node.import_pause()
        self._spawn("kubelet", *node.kubelet_args(self.dir / "kubelet.kubeconfig"))
        self._spawn("kube-proxy", *node.kube_proxy_args())
        self.wait_for(f"node {self.node_name} Ready", self._node_ready, remaining())

    def _start_kwok(self, remaining: Callable[[], float]) -> None:
        # An explicit config file keeps a developer's ~/.kwok/kwok.yaml out of the run.
        kwok_config = self.dir / "kwok.yaml"
        kwok_config.write_text(
            "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n"
        )
        self._spawn(
            "kwok",
            f"--kubeconfig={self.dir / 'kwok.kubeconfig'}",
            f"--config={kwok_config}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector={}={}".format(*NODE_ANNOTATION),
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
        )
        self.apply(self._node_manifest())
        self.wait_for(f"node {self.node_name} Ready", self._node_ready, remaining())

    def _spawn(self, name: str, *args: str) -> None:
        with open(self.dir / "logs" / f"{name}.log", "ab") as log:
            # A session of its own keeps a terminal's Ctrl-C from killing the process
            # behind stop()'s back, and lets `up` return while it runs on.
            self.processes[name] = subprocess.Popen(
                [_executable(self.bin_dir, name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ProcessExitedError(
                    f"{name} exited with {proc.returncode}; its log ends:\n{self.log_tail(name)}"
                )

    def _apiserver_ready(self) -> bool:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.dir / "pki" / "admin.crt", self.dir / "pki" / "admin.key")
        url = f"{self.server}/readyz"
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as not_ready:
            not_ready.close()  # it holds the connection, and would leak it
            return False

    def _node_ready(self) -> bool:
        node = self.kubectl_json("get", "node", self.node_name)
        conditions = node["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _default_service_account(self) -> bool:
        found = self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False)
        return found.returncode == 0

    def _node_manifest(self) -> dict[str, Any]:
        # kwok fills in the node's status but not its size, and the scheduler needs one.
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "annotations": dict([NODE_ANNOTATION]),
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {"allocatable": resources, "capacity": resources},
        }


def _is_running(pid: int, exe: str) -> bool:
    # The pid may have been reused since `up`: only a live process of that binary counts.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and argv0 == exe


def _executable(bin_dir: Path, name: str) -> str:
    """build.sh's binary, or the host's (containerd is Debian's)."""
    built = _binary(bin_dir, name)
    if built.exists():
        return str(built)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is neither in {bin_dir} nor on PATH")
    return found


def _stop_in_order(
    stop_group: Callable[[tuple[str, ...]], None],
    node: testbed_node.RealNode | None,
    kubectl: Callable[..., subprocess.CompletedProcess[str]] | None,
) -> None:
    """STOP_ORDER, with a real node's pods deleted before kubelet stops (while the API server
    still answers) and what containerd leaves behind cleaned up after it."""
    for group in STOP_ORDER:
        if node and group == ("kube-proxy", "kubelet") and kubectl:
            node.drain(kubectl)
        if node and group == ("containerd",):
            node.kill_tasks()
        stop_group(group)
        if node and group == ("containerd",):
            node.clean_host()
            node.release()


def stop_pids(
    pids: dict[str, int],
    exes: dict[str, str],
    state_dir: Path,
    node: str = "kwok",
    timeout: float = 15,
) -> None:
    """ControlPlane.stop() for processes that this interpreter did not start."""
    bin_dir = Path(exes.get("kube-apiserver", "")).parent

    def stop_group(group: tuple[str, ...]) -> None:
        alive = {pids[n]: exes[n] for n in group if n in pids}
        alive = {pid: exe for pid, exe in alive.items() if _is_running(pid, exe)}
        for pid in alive:
            os.kill(pid, signal.SIGTERM)

        def exited(alive: dict[int, str] = alive) -> bool:
            return not any(_is_running(pid, exe) for pid, exe in alive.items())

        try:
            wait_for("processes to exit", exited, timeout)
        except TimeoutError:
            for pid, exe in alive.items():
                if _is_running(pid, exe):
                    os.kill(pid, signal.SIGKILL)

    def kubectl(*args: str, check: bool = True, timeout: float = 60) -> Any:
        command = [str(bin_dir / "kubectl"), f"--kubeconfig={state_dir / 'kubeconfig'}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=check)

    real_node = testbed_node.RealNode(bin_dir, state_dir) if node == "real" else None
    api_up = "kube-apiserver" in pids and _is_running(
        pids["kube-apiserver"], exes["kube-apiserver"]
    )
    _stop_in_order(stop_group, real_node, kubectl if api_up else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument(
        "--dir", type=Path, default=cache_root() / "run", help="state dir (default: %(default)s)"
    )
    parser.add_argument("--bin-dir", type=Path, help="binaries (default: build.sh's cache)")
    parser.add_argument(
        "--node",
        choices=NODE_KINDS,
        default="kwok",
        help="kwok: a fake node; real: containerd, kubelet, kube-proxy (root; build.sh --node)",
    )
    args = parser.parse_args(argv)
    state_dir: Path = args.dir.resolve()
    state_file = state_dir / "testbed.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        stop_pids(state["pids"], state["exes"], state_dir, state.get("node", "kwok"))
        state_file.unlink()
        print(f"stopped the testbed in {state_dir}", file=sys.stderr)
    if args.action == "down":
        return 0
    # Always a fresh cluster: an old etcd would bring back old objects.
    testbed_node.unmount_under(state_dir)
    for stale in ("etcd", "logs", "pki", "kubectl-cache", "node"):
        shutil.rmtree(state_dir / stale, ignore_errors=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    cluster = ControlPlane(args.bin_dir or default_bin_dir(), state_dir, node=args.node)
    cluster.start()
    state = {"node": args.node, "pids": cluster.pids, "exes": cluster.exes}
    state_file.write_text(json.dumps(state))
    print(
        f"testbed up at {cluster.server}; logs in {state_dir / 'logs'}; "
        f"stop it with: python {sys.argv[0]} down",
        file=sys.stderr,
    )
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
