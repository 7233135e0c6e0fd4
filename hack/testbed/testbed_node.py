"""A real node for the testbed: containerd with runc, a CNI bridge, kubelet and kube-proxy.

Where kwok only pretends, this node runs containers: containerd (Debian's, with runc and the
overlayfs snapshotter) keeps its state in the testbed's directory and listens on a socket there;
pods get addresses from a CNI bridge with host-local IPAM; kube-proxy (iptables mode) routes
Services; kubelet registers the node with the testbed's API server. The pause image comes from
upstream's pause.c, which build.sh compiles, packed here into an OCI archive.

A node changes the host as any node does: a bridge interface, iptables rules, IP forwarding, the
kubepods cgroups. So one real node runs per host at a time (CLAIM), and stop() undoes what start()
did: pods deleted through the API first, so that kubelet tears their networks and mounts down,
then kube-proxy and kubelet, containerd and its shims, kube-proxy's rules and the bridge.
Root is needed, as for any kubelet.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

NODE_BINARIES = ("kubelet", "kube-proxy", "pause", "coredns")
# Debian's packages that the node runs (hack/debs.sh installs them).
NODE_DEBS = ("containerd", "runc", "containernetworking-plugins", "iptables", "conntrack")
NODE_NAME = "cryptex-node-0"
POD_CIDR = "10.244.0.0/24"
BRIDGE = "cryptex0"
CNI_BIN_DIR = "/usr/lib/cni"
# Made from pause.c by build.sh; only this node's containerd ever holds it.
PAUSE_IMAGE = "localhost/cryptex-testbed/pause:3.10"
# Which testbed directory runs the host's one real node.
CLAIM = Path("/run/cryptex-testbed-node.json")
CLUSTER_DOMAIN = "cluster.local"
# The cluster's DNS: CoreDNS runs on the host, on the node's address and a free port, behind
# the usual kube-system/kube-dns Service at this address, which kubelet gives the pods.
DNS_SERVICE_IP = "10.96.0.10"


class NodeBusyError(RuntimeError):
    """Another testbed's real node runs on this host."""


def images_cache() -> Path:
    """Where hack/images/base.sh keeps the base rootfs, and the node its image archives."""
    if os.environ.get("CRYPTEX_IMAGES_CACHE"):
        return Path(os.environ["CRYPTEX_IMAGES_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "cryptex-images"


def host_ip() -> str:
    """The address of the interface that the default route leaves by: the node's InternalIP.

    Connecting a UDP socket sends nothing; it only picks the route and so the source address.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("198.51.100.1", 9))  # TEST-NET-2 (RFC 5737): never a real peer
        address: str = probe.getsockname()[0]
    return address


def missing_tools() -> list[str]:
    wanted = ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "conntrack")
    missing = [tool for tool in wanted if _which(tool) is None]
    missing += [
        f"{CNI_BIN_DIR}/{p}"
        for p in ("bridge", "host-local", "portmap", "loopback")
        if not os.access(f"{CNI_BIN_DIR}/{p}", os.X_OK)
    ]
    return missing


def _which(tool: str) -> str | None:
    # sbin too: runc and iptables live there, and a user's PATH may lack it.
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(tool, path=path)


def oci_archive(binary: bytes, path: str, name: str, user: str = "") -> bytes:
    """An OCI image archive of one static binary at `path`, its entrypoint, tagged `name`."""
    layer = _tar({path.lstrip("/"): (binary, 0o755)})
    layer_digest = hashlib.sha256(layer).hexdigest()
    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": [path], "User": user},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": _descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar", layer)],
        }
    )
    manifest_descriptor = _descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
    manifest_descriptor["annotations"] = {
        "org.opencontainers.image.ref.name": name,
        "io.containerd.image.name": name,
    }
    index = _json({"schemaVersion": 2, "manifests": [manifest_descriptor]})
    blobs = {
        f"blobs/sha256/{hashlib.sha256(b).hexdigest()}": (b, 0o644)
        for b in (layer, config, manifest)
    }
    return _tar(
        {
            "oci-layout": (_json({"imageLayoutVersion": "1.0.0"}), 0o644),
            "index.json": (index, 0o644),
            **blobs,
        }
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": f"sha256:{hashlib.sha256(blob).hexdigest()}",
        "size": len(blob),
    }


def _tar(members: dict[str, tuple[bytes, int]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


Spawn = Callable[..., None]
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


class RealNode:
    """The node of a testbed in `work_dir`; its state lives in `work_dir / "node"`."""

    def __init__(self, bin_dir: Path, work_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.work_dir = work_dir
        self.dir = work_dir / "node"
        self.name = NODE_NAME
        self.ip = host_ip()
        self.containerd_socket = self.dir / "containerd.sock"
        self.kubelet_port = 0

    # -- the host's one node ------------------------------------------------------------------

    def claim(self, is_running: Callable[[int, str], bool]) -> None:
        """Take the host's node for this testbed, unless another live one holds it (or is
        starting it). A node that died without its stop (kill -9, a crash) left the host
        changed: what it left is cleaned up first."""
        if CLAIM.exists():
            held = json.loads(CLAIM.read_text())
            alive = [
                name
                for name, pid in held.get("pids", {}).items()
                if is_running(pid, held["exes"][name])
            ]
            starting = not held.get("pids") and Path(f"/proc/{held.get('owner', 0)}").exists()
            if held["dir"] != str(self.work_dir):
                if alive or starting:
                    raise NodeBusyError(
                        f"a real testbed node already runs on this host, from {held['dir']} "
                        f"({', '.join(alive) or 'starting'}): stop it first "
                        f"(testbed.py down --dir {held['dir']})"
                    )
                RealNode(self.bin_dir, Path(held["dir"])).clean_host()
        self.record({})

    def record(self, pids: dict[str, int], exes: dict[str, str] | None = None) -> None:
        claim = {"dir": str(self.work_dir), "owner": os.getpid(), "pids": pids, "exes": exes or {}}
        CLAIM.write_text(json.dumps(claim))

    def release(self) -> None:
        if CLAIM.exists() and json.loads(CLAIM.read_text()).get("dir") == str(self.work_dir):
            CLAIM.unlink()

    # -- start ----------------------------------------------------------------------------------

    def prepare_host(self) -> None:
        """Forwarding for the pods' traffic, and bridged traffic through iptables for Services."""
        missing = missing_tools()
        if missing:
            raise FileNotFoundError(
                f"{', '.join(missing)} missing: install {' '.join(NODE_DEBS)} (hack/debs.sh)"
            )
        for key in ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"):
            Path("/proc/sys", key).write_text("1\n")

    def write_configs(
        self, ca_file: Path, kubelet_tls: tuple[Path, Path], ports: list[int], dns_ip: str | None
    ) -> None:
        for sub in ("cni/net.d", "cni/ipam", "kubelet", "containerd"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "containerd.toml").write_text(self._containerd_config())
        (self.dir / "cni/net.d/10-cryptex.conflist").write_text(
            json.dumps(self._cni_config(), indent=2) + "\n"
        )
        self.kubelet_port, healthz_port, proxy_healthz, proxy_metrics = ports
        (self.dir / "kubelet.json").write_text(
            json.dumps(self._kubelet_config(ca_file, kubelet_tls, healthz_port, dns_ip), indent=2)
        )
        (self.dir / "kube-proxy.json").write_text(
            json.dumps(self._kube_proxy_config(proxy_healthz, proxy_metrics), indent=2)
        )

    def import_pause(self) -> None:
        pause = (self.bin_dir / "pause").read_bytes()
        self.import_archive(oci_archive(pause, "/pause", PAUSE_IMAGE, user="65535:65535"))

    def import_archive(self, archive: bytes | Path) -> None:
        """An OCI or Docker image archive into the node's containerd, where kubelet finds it."""
        if isinstance(archive, bytes):
            path = self.dir / f"import-{hashlib.sha256(archive).hexdigest()[:12]}.tar"
            path.write_bytes(archive)
            archive = path
        self.ctr("images", "import", str(archive))

    def import_buildah_images(self, names: list[str]) -> None:
        """Images from buildah's storage (make images) into the node: each exported once per
        image ID as a Docker archive, which keeps its short name (cryptex/api:0.1.0 is what
        the chart asks for), into a cache outside the repo; archives of images that buildah no
        longer holds are removed."""
        cache = images_cache() / "archives"
        cache.mkdir(parents=True, exist_ok=True)
        for name in names:
            found = subprocess.run(
                ["buildah", "inspect", "--type=image", "--format={{.FromImageID}}", name],
                capture_output=True,
                text=True,
            )
            if found.returncode != 0:
                raise FileNotFoundError(f"image {name} is not built: run make images")
            archive = cache / f"{found.stdout.strip()}.tar"
            if not archive.exists():
                partial = archive.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                subprocess.run(
                    ["buildah", "push", "--quiet", name, f"docker-archive:{partial}:{name}"],
                    check=True,
                    capture_output=True,
                )
                partial.rename(archive)
            self.import_archive(archive)
        for archive in cache.glob("*.tar"):
            held = subprocess.run(
                ["buildah", "inspect", "--type=image", archive.stem], capture_output=True
            )
            if held.returncode != 0:
                archive.unlink(missing_ok=True)

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["ctr", f"--address={self.containerd_socket}", "--namespace=k8s.io", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def coredns_args(self, port: int) -> list[str]:
        corefile = self.dir / "Corefile"
        corefile.write_text(
            f""".:{port} {{
    bind {self.ip}
    errors
    cache 30
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {self.work_dir / "coredns.kubeconfig"}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    forward . /etc/resolv.conf
}}
"""
        )
        return [f"-conf={corefile}"]

    def dns_manifests(self, port: int) -> list[dict[str, Any]]:
        """kube-system/kube-dns: a Service without a selector whose endpoint is CoreDNS."""
        ports = [
            {"name": f"dns-{p.lower()}", "port": 53, "targetPort": port, "protocol": p}
            for p in ("UDP", "TCP")
        ]
        metadata = {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns"},
        }
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata,
            "spec": {
                "clusterIP": DNS_SERVICE_IP,
                "ports": ports,
            },
        }
        endpoints = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": metadata,
            "subsets": [
                {
                    "addresses": [{"ip": self.ip}],
                    "ports": [
                        {"name": p["name"], "port": port, "protocol": p["protocol"]} for p in ports
                    ],
                }
            ],
        }
        return [service, endpoints]

    def containerd_args(self) -> list[str]:
        return [f"--config={self.dir / 'containerd.toml'}"]

    def kubelet_args(self, kubeconfig: Path) -> list[str]:
        return [
            f"--config={self.dir / 'kubelet.json'}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={self.dir / 'kubelet'}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.ip}",
            # Keeps kubelet's image garbage collection off the sandbox image.
            f"--pod-infra-container-image={PAUSE_IMAGE}",
            "--node-labels=type=real",
        ]

    def kube_proxy_args(self) -> list[str]:
        return [f"--config={self.dir / 'kube-proxy.json'}"]

    def _containerd_config(self) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return f"""\
version = 2
root = "{self.dir / "containerd" / "root"}"
state = "{self.dir / "containerd" / "state"}"
[grpc]
  address = "{self.containerd_socket}"
[ttrpc]
  address = "{self.containerd_socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.dir / "containerd" / "opt"}"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  disable_apparmor = true
  # A host without CAP_SYS_RESOURCE (a sandbox's root, say) may not lower oom_score_adj: the
  # sandboxes' -998 made runc fail ("failed to update /proc/self/oom_score_adj: Permission
  # denied"). Scores below containerd's own are raised to it instead.
  restrict_oom_score_adj = true
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{self.dir / "runc"}"
  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{self.dir / "cni" / "net.d"}"
"""

    def _cni_config(self) -> dict[str, Any]:
        return {
            "cniVersion": "0.4.0",
            "name": "cryptex-testbed",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _kubelet_config(
        self, ca_file: Path, tls: tuple[Path, Path], healthz_port: int, dns_ip: str | None
    ) -> dict[str, Any]:
        config: dict[str, Any] = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(ca_file)},
            },
            "authorization": {"mode": "Webhook"},
            "address": self.ip,
            "port": self.kubelet_port,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": healthz_port,
            "tlsCertFile": str(tls[0]),
            "tlsPrivateKeyFile": str(tls[1]),
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            # No init system manages cgroups here: kubelet and runc write them directly.
            "cgroupDriver": "cgroupfs",
            "failSwapOn": False,
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": "/etc/resolv.conf",
            "volumePluginDir": str(self.dir / "volume-plugins"),
            # The host's disk is shared: a tight default threshold would evict the test's pods
            # for other people's files, and image GC would remove the locally imported images,
            # which no registry can give back.
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "serializeImagePulls": False,
        }
        if dns_ip:
            config["clusterDNS"] = [dns_ip]
        return config

    def _kube_proxy_config(self, healthz_port: int, metrics_port: int) -> dict[str, Any]:
        return {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.work_dir / "kube-proxy.kubeconfig")},
            "mode": "iptables",
            "clusterCIDR": POD_CIDR,
            "hostnameOverride": self.name,
            "healthzBindAddress": f"127.0.0.1:{healthz_port}",
            "metricsBindAddress": f"127.0.0.1:{metrics_port}",
            # NodePorts on the node's address only: no route_localnet for 127.0.0.1.
            "nodePortAddresses": [f"{self.ip}/32"],
            "iptables": {"localhostNodePorts": False},
            # The host's conntrack settings stay as they are.
            "conntrack": {
                "maxPerCore": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
        }

    # -- stop -----------------------------------------------------------------------------------

    def drain(self, kubectl: Kubectl) -> None:
        """Every pod deleted through the API: kubelet tears their networks and mounts down."""
        kubectl(
            "delete",
            "pods",
            "--all",
            "--all-namespaces",
            "--grace-period=5",
            "--timeout=90s",
            check=False,
            timeout=120,
        )

    def kill_tasks(self) -> None:
        """What drain left running: killed through containerd, while it still runs."""
        if not self.containerd_socket.exists():
            return
        listed = self.ctr("tasks", "list", "--quiet", check=False)
        for task in listed.stdout.split():
            self.ctr("tasks", "kill", "--all", "--signal=SIGKILL", task, check=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            listed = self.ctr("tasks", "list", "--quiet", check=False)
            if listed.returncode != 0 or not listed.stdout.split():
                break
            for task in listed.stdout.split():
                self.ctr("tasks", "delete", task, check=False)
            time.sleep(0.5)

    def clean_host(self) -> None:
        """After containerd stopped: the shims, containers, mounts, rules and bridge that
        outlived it (none, unless the node died without its stop)."""
        for pid in _shims_of(self.containerd_socket) + _pod_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        unmount_under(self.dir)
        _remove_pod_netns()
        proxy = self.bin_dir / "kube-proxy"
        subprocess.run([str(proxy), "--cleanup"], capture_output=True, timeout=60)
        remove_kube_chains()
        subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True)


def remove_kube_chains() -> None:
    """kubelet's own chains, which `kube-proxy --cleanup` leaves: KUBE-FIREWALL (with its DROP of
    outside traffic to 127.0.0.0/8 hooked into INPUT and OUTPUT), the canaries, KUBE-MARK-MASQ."""
    for tool in ("iptables", "ip6tables"):
        if _which(tool) is None:
            continue
        for table in ("filter", "nat", "mangle"):
            saved = subprocess.run(
                [f"{tool}-save", "-t", table], capture_output=True, text=True
            ).stdout
            # The built-in chains' jumps first: a chain still referenced cannot be deleted.
            jumps = re.findall(r"^-A ([A-Z]+ .*-j KUBE-\S+.*)$", saved, re.MULTILINE)
            for rule in jumps:
                subprocess.run([tool, "-t", table, "-D", *shlex.split(rule)], capture_output=True)
            chains = re.findall(r"^:(KUBE-\S+)", saved, re.MULTILINE)
            for flag in ("-F", "-X"):
                for chain in chains:
                    subprocess.run([tool, "-t", table, flag, chain], capture_output=True)


def _shims_of(socket_path: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and argv[0].endswith(b"containerd-shim-runc-v2")
            and str(socket_path).encode() in argv
        ):
            pids.append(int(proc.name))
    return pids


def _remove_pod_netns() -> None:
    """The pods' network namespaces that containerd pins in /var/run/netns (a path it does
    not let one configure), when it died without removing them: those holding a pod address."""
    pod_network = ipaddress.ip_network(POD_CIDR)
    for pin in Path("/var/run/netns").glob("cni-*"):
        shown = subprocess.run(
            ["ip", "-netns", pin.name, "-json", "-4", "address"], capture_output=True, text=True
        )
        if shown.returncode != 0:
            continue
        addresses = [
            info["local"] for link in json.loads(shown.stdout) for info in link.get("addr_info", [])
        ]
        if any(ipaddress.ip_address(a) in pod_network for a in addresses):
            subprocess.run(["ip", "netns", "delete", pin.name], capture_output=True)


def _pod_processes() -> list[int]:
    """Every process in kubelet's kubepods cgroups (cgroup v1 or v2): the node's containers."""
    pids: set[int] = set()
    root = Path("/sys/fs/cgroup")
    for pattern in ("kubepods*/**/cgroup.procs", "*/kubepods*/**/cgroup.procs"):
        for procs in root.glob(pattern):
            with contextlib.suppress(OSError):
                pids.update(int(pid) for pid in procs.read_text().split())
    return sorted(pids)


def unmount_under(directory: Path) -> None:
    """Detach every mount below `directory` (pods' volumes, containers' root filesystems), so
    that removing it removes only its own files."""
    prefix = str(directory.resolve()) + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # mountinfo escapes space, tab, newline and backslash as octal.
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
        if point.startswith(prefix):
            points.append(point)
    for point in reversed(points):
        subprocess.run(["umount", "--lazy", point], capture_output=True)
