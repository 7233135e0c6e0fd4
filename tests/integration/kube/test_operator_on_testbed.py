"""The operator as a process on the testbed's real control plane, signed in as its own
ServiceAccount with exactly the rights of operator/rbac.yaml: a Market from creation through a
trading-state change and an image change to its deletion.

What the KMock tests cannot show is checked here: the Deployment controller makes the ReplicaSet
and the Pod, kwok runs the Pod, a roll makes a new ReplicaSet, the garbage collector removes what
a deleted Deployment owned, and RBAC refuses whatever rbac.yaml does not grant. kwok runs no
containers, so a real engine process (`Kubelet`) plays the engine of whichever Pod runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import redis
import yaml

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.redis_replies import stream_id
from cryptex.wire import (
    AmendOrder,
    CancelOrder,
    OrderStatus,
    PlaceOrder,
    Side,
    TakeSnapshot,
    TradingState,
    decode_command,
)
from cryptex_operator import control, manifests
from cryptex_operator.manifests import EngineConfig
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.kube.conftest import testbed
from tests.integration.operator.cluster import read_like_dbproc, snapshot_id
from tests.servers import RedisServer, free_port
from tests.streams import entries, queued_commands
from tests.unit.operator.markets import resource

pytestmark = pytest.mark.kube

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[3]
RBAC = REPO / "operator" / "rbac.yaml"
SOL_EXAMPLE = REPO / "crds" / "examples" / "sol-usdc.yaml"
MARKET = "sol-usdc"
ENGINE = manifests.engine_name(MARKET)  # the Deployment's and the Service's name
SELECTOR = f"{manifests.MARKET_LABEL}={MARKET}"
SOL = MarketSpec.from_manifest(manifests.market_manifest(resource()))
NEW_IMAGE = "cryptex/engine:0.2.0"
# Seconds, not the defaults' 5 to 15: each wait of the scenario then takes a second or two.
OPERATOR_TIMINGS = {"STATUS_INTERVAL_S": "0.5", "ACK_WAIT_S": "2", "RETRY_DELAY_S": "0.5"}


def rbac_for(namespace: str) -> list[dict[str, Any]]:
    """operator/rbac.yaml moved to `namespace`, its cluster-wide names made unique to it."""
    objects = [obj for obj in yaml.safe_load_all(RBAC.read_text()) if obj]
    unique = f"cryptex-operator-{namespace}"
    for obj in objects:
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            obj["metadata"]["name"] = unique
        else:
            obj["metadata"]["namespace"] = namespace
        if obj["kind"] == "ClusterRoleBinding":
            obj["roleRef"]["name"] = unique
        for subject in obj.get("subjects", []):
            subject["namespace"] = namespace
    assert sorted(obj["kind"] for obj in objects) == [
        "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount",
    ]  # fmt: skip
    return objects


class OperatorProcess:
    """`python -m cryptex_operator` for one namespace, signed in with `kubeconfig` only."""

    def __init__(self, kubeconfig: Path, namespace: str, redis_url: str, log_path: Path) -> None:
        self.log_path = log_path
        self.liveness_port = free_port()
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("CRYPTEX_") and name != "KUBECONFIG"
        }
        self.env = {
            **inherited,
            "KUBECONFIG": str(kubeconfig),
            "CRYPTEX_NAMESPACES": namespace,
            "CRYPTEX_REDIS_URL": redis_url,
            "CRYPTEX_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_LIVENESS_PORT": str(self.liveness_port),
            **{f"CRYPTEX_{name}": value for name, value in OPERATOR_TIMINGS.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_operator"],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def live(self) -> bool:
        """Whether kopf answers its liveness probe (it does once its startup handlers ran)."""
        url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)

    def check(self) -> None:
        """Fails at once if the operator exited, or if RBAC refused it anything."""
        if self.process is not None and self.process.poll() is not None:
            raise testbed.ProcessExitedError(
                f"the operator exited with {self.process.returncode}:\n{self.log_tail()}"
            )
        if refused := self.refusals():
            raise testbed.ProcessExitedError(f"RBAC refused the operator:\n{refused[0][:3000]}")

    def refusals(self) -> list[str]:
        """Log lines of requests that RBAC refused (kopf's APIForbiddenError, the operator's
        KubeError 403), each a gap in rbac.yaml: kopf only logs a refused event post, or a
        refused watch of namespaces or CRDs, and retries a handler that was refused."""
        return [line for line in self.log().splitlines() if "forbidden" in line.lower()]

    def stop(self) -> None:
        """SIGTERM by pid (kopf stops its handlers and closes its watches), SIGKILL at last."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        # kopf's object logger passes its whole settings along, so lines are long.
        return "\n".join(line[:1500] for line in self.log().splitlines()[-lines:])


@dataclass(frozen=True)
class EngineRun:
    """One engine process that the stand-in kubelet ran, and the Pod it ran for."""

    pod: str
    replica_set: str
    image: str


class Kubelet(threading.Thread):
    """The containers that kwok does not run: while a Pod of the market is Running and not
    terminating, a real engine process runs for it (unless `down`); when the Pod goes, its
    engine stops (SIGTERM, as the kubelet would). Also notes the engine's snapshot at the
    moment each generation of the Deployment is first seen, before any engine is stopped."""

    def __init__(self, cluster: Any, namespace: str, redis_server: RedisServer, log_dir: Path):
        super().__init__(name="kubelet-stand-in", daemon=True)
        self.cluster, self.namespace = cluster, namespace
        # Snapshots only when asked (TakeSnapshot) or at stop: the roll's snapshot is the
        # operator's doing, not a timer's.
        self.engine = EngineProcess(
            redis_server.url, SOL, log_dir, from_registry=True, snapshot_interval_s="3600"
        )
        self.redis = redis_server.client()
        self.runs: list[EngineRun] = []
        self.snapshot_at_generation: dict[int, str] = {}
        self.most_pods_running = 0
        self.down = False  # no engine runs, though kwok still reports the Pod Running
        self.error: BaseException | None = None
        self._pod_uid: str | None = None
        self._finished = threading.Event()

    def run(self) -> None:
        failing_since: float | None = None
        try:
            while not self._finished.wait(0.1):
                try:
                    objects = self.cluster.kubectl_json(
                        "get", "deployments,pods", "-n", self.namespace, "-l", SELECTOR
                    )["items"]
                except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                    # A slow or refused kubectl now and then is no reason to give up.
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > 15:
                        raise
                    continue
                failing_since = None
                self._step(objects)
        except BaseException as error:  # reported to the test by check()
            self.error = error
        finally:
            self.engine.stop()
            self.redis.close()

    def _step(self, objects: list[dict[str, Any]]) -> None:
        for deployment in (obj for obj in objects if obj["kind"] == "Deployment"):
            generation = int(deployment["metadata"]["generation"])
            if generation not in self.snapshot_at_generation:
                self.snapshot_at_generation[generation] = snapshot_id(self.redis)
        running = [
            pod
            for pod in objects
            if pod["kind"] == "Pod"
            and pod["status"].get("phase") == "Running"
            and not pod["metadata"].get("deletionTimestamp")
        ]
        self.most_pods_running = max(self.most_pods_running, len(running))
        wanted = running[0] if running and not self.down else None
        wanted_uid = wanted["metadata"]["uid"] if wanted else None
        if self.engine.process is not None and self.engine.process.poll() is not None:
            raise RuntimeError(f"the engine exited: {self.engine.log_path.read_text()[-2000:]}")
        if wanted_uid == self._pod_uid:
            return
        self.engine.stop()
        self._pod_uid = None
        if wanted is not None:
            self.engine.start(wait=False)
            self.engine.wait_healthy(timeout=60)  # generous: the machine may be busy
            [owner] = wanted["metadata"]["ownerReferences"]
            [container] = wanted["spec"]["containers"]
            self.runs.append(
                EngineRun(wanted["metadata"]["name"], owner["name"], container["image"])
            )
            self._pod_uid = wanted_uid

    def check(self) -> None:
        if self.error is not None:
            raise testbed.ProcessExitedError(f"the stand-in kubelet failed: {self.error!r}")

    def finish(self) -> None:
        self._finished.set()
        self.join(timeout=60)


@dataclass
class Scene:
    cluster: Any
    namespace: str
    operator: OperatorProcess
    kubelet: Kubelet
    redis: redis.Redis
    redis_url: str

    def until(self, what: str, check: Callable[[], T | None], timeout: float = 60) -> T:
        """The first truthy answer of `check`; fails at once if the operator or the stand-in
        kubelet dies meanwhile, and shows the operator's log when the time is up."""

        def checked() -> T | None:
            self.operator.check()
            self.kubelet.check()
            return check()

        try:
            return cast(T, self.cluster.wait_for(what, checked, timeout))
        except TimeoutError as error:
            tail = self.operator.log_tail()
            raise TimeoutError(f"{error}\nthe operator's log ends:\n{tail}") from None

    def kubectl_json(self, *args: str) -> Any:
        return self.cluster.kubectl_json(*args, "-n", self.namespace)

    def found(self, kind: str, name: str) -> dict[str, Any] | None:
        """The object, or None if there is no such object (any other refusal fails)."""
        done = self.cluster.kubectl(
            "get", kind, name, "-n", self.namespace, "-o", "json", check=False
        )
        if done.returncode != 0:
            if "(NotFound)" in done.stderr:
                return None
            raise RuntimeError(done.stderr)
        obj: dict[str, Any] = json.loads(done.stdout)
        return obj

    def market(self) -> dict[str, Any]:
        found = self.found("market", MARKET)
        assert found is not None
        return found

    def conditions(self) -> dict[str, tuple[str, str]]:
        found = self.market().get("status", {}).get("conditions", [])
        return {c["type"]: (c["status"], c["reason"]) for c in found}

    def ready(self, generation: int) -> bool:
        status = self.market().get("status", {})
        conditions = self.conditions()
        return status.get("observedGeneration") == generation and all(
            conditions.get(kind) == ("True", "EngineRunning")
            for kind in ("Ready", "EngineAvailable")
        )

    def selected(self, kinds: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kubectl_json("get", kinds, "-l", SELECTOR)["items"]
        return items

    def condition_text(self) -> str:
        return str(self.market().get("status", {}).get("conditions", []))

    def patch_market(self, spec: dict[str, Any]) -> None:
        self.cluster.kubectl(
            "patch", "market", MARKET, "-n", self.namespace, "--type=merge",
            "-p", json.dumps({"spec": spec}),
        )  # fmt: skip

    def event_reasons(self) -> list[str]:
        events = self.kubectl_json(
            "get", "events", "--field-selector", f"involvedObject.name={MARKET}"
        )["items"]
        return [event["reason"] for event in events for _ in range(event.get("count") or 1)]


@pytest.fixture
def on_testbed(
    kube_cluster: Any,
    market_crd: dict[str, Any],
    namespace: str,
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> Iterator[Scene]:
    """The operator's RBAC in `namespace`, the operator running as its ServiceAccount, and the
    stand-in kubelet; at the end each is stopped by its pid, and whatever a failed test left
    behind is let go of (a Market that keeps its finalizer would hold up the CRD's deletion)."""
    rbac = rbac_for(namespace)
    kube_cluster.apply(*rbac)
    cluster_wide = [obj for obj in rbac if obj["kind"].startswith("Cluster")]
    operator: OperatorProcess | None = None
    kubelet: Kubelet | None = None
    try:
        token = kube_cluster.kubectl(
            "create", "token", "cryptex-operator", "-n", namespace, "--duration=1h"
        ).stdout.strip()
        kubeconfig = kube_cluster.write_kubeconfig(
            tmp_path / "operator.kubeconfig", "cryptex-operator", {"token": token}
        )
        kube_cluster.wait_for(
            "the operator's RoleBinding to take effect",
            lambda: kube_cluster.kubectl(
                "auth", "can-i", "patch", "markets.cryptex.io", "-n", namespace,
                kubeconfig=kubeconfig, check=False,
            ).stdout.strip() == "yes",
        )  # fmt: skip
        operator = OperatorProcess(kubeconfig, namespace, redis_server.url, tmp_path / "op.log")
        kubelet = Kubelet(kube_cluster, namespace, redis_server, tmp_path)
        operator.start()
        kubelet.start()
        bed = Scene(kube_cluster, namespace, operator, kubelet, redis_client, redis_server.url)
        bed.until("the operator's liveness probe", operator.live)
        yield bed
    finally:
        if operator is not None:
            operator.stop()
        if kubelet is not None:
            kubelet.finish()
        kube_cluster.kubectl(
            "patch", "markets", MARKET, "-n", namespace, "--type=merge",
            "-p", '{"metadata": {"finalizers": null}}', check=False,
        )  # fmt: skip
        for obj in cluster_wide:
            kube_cluster.kubectl(
                "delete", obj["kind"].lower(), obj["metadata"]["name"], "--ignore-not-found"
            )


def rest_orders(exchange: Exchange) -> list[int]:
    """A bid and an ask resting on the book, far apart; returns their ids."""
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    resting = [exchange.placed(1, Side.BUY, "90", "1"), exchange.placed(2, Side.SELL, "120", "2")]
    exchange.wait_settled()
    return resting


def assert_locks_released(exchange: Exchange, resting: list[int]) -> None:
    """Every resting order cancelled with nothing locked, every deposit free, the ledger whole."""
    for order_id in resting:
        record = exchange.ledger.order(order_id)
        assert record is not None
        assert (record.status, record.locked) == (OrderStatus.CANCELED, 0), order_id
    for account, asset, amount in ((1, "USDC", "1000"), (2, "SOL", "10")):
        units = (SOL.base if asset == "SOL" else SOL.quote).to_units(amount)
        balance = exchange.ledger.balances(account)[asset]
        assert (balance.available, balance.locked) == (units, 0), (account, asset)
    report = exchange.ledger.audit()
    assert report.ok, report.problems


def create_market(bed: Scene) -> tuple[str, dict[str, Any]]:
    """SOL_USDC created, listed, given its engine and Ready; its uid and its Deployment."""
    bed.cluster.kubectl("create", "-n", bed.namespace, "-f", str(SOL_EXAMPLE))
    bed.until("SOL_USDC in the registry", lambda: control.registered(bed.redis, "SOL_USDC"))
    uid: str = bed.market()["metadata"]["uid"]
    owner = {
        "apiVersion": "cryptex.io/v1alpha1", "kind": "Market", "name": MARKET,
        "uid": uid, "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip
    config = EngineConfig(redis_url=bed.redis_url)
    engine = resource()["spec"]["engine"]
    expected = manifests.deployment(MARKET, bed.namespace, SOL, engine, config)
    deployment = bed.until("the engine's Deployment", lambda: bed.found("deployment", ENGINE))
    assert deployment["metadata"]["ownerReferences"] == [owner]
    assert deployment["metadata"]["labels"] == expected["metadata"]["labels"]
    assert manifests.stored_hash(deployment) == manifests.stored_hash(expected)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    service = bed.found("service", ENGINE)
    assert service is not None
    assert service["metadata"]["ownerReferences"] == [owner]
    assert manifests.stored_hash(service) == manifests.stored_hash(
        manifests.service(MARKET, bed.namespace, config)
    )

    # The controller manager made the ReplicaSet and its Pod, the scheduler put the Pod on
    # kwok's node, kwok runs it, and the stand-in runs its engine.
    bed.until("an engine for the Pod", lambda: bed.kubelet.runs)
    [replica_set] = bed.selected("replicasets")
    assert [(o["kind"], o["uid"]) for o in replica_set["metadata"]["ownerReferences"]] == [
        ("Deployment", deployment["metadata"]["uid"])
    ]
    [pod] = bed.selected("pods")
    assert pod["spec"]["nodeName"] == bed.cluster.node_name
    assert bed.kubelet.runs == [
        EngineRun(pod["metadata"]["name"], replica_set["metadata"]["name"], engine["image"])
    ]
    bed.until("Ready and EngineAvailable", lambda: bed.ready(1))
    status = bed.market()["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "symbol": "SOL_USDC",
        "engineReady": True,
        "lastAppliedTradingState": "Active",
    }
    assert bed.conditions() == {
        "Ready": ("True", "EngineRunning"),
        "EngineAvailable": ("True", "EngineRunning"),
        "Halted": ("False", "Active"),
        "Degraded": ("False", "AsExpected"),
    }
    assert bed.market()["metadata"]["finalizers"] == [manifests.FINALIZER]
    return uid, deployment


def test_a_market_from_creation_to_deletion_on_a_real_control_plane(on_testbed: Scene) -> None:
    bed, redis_client = on_testbed, on_testbed.redis
    uid, deployment = create_market(bed)
    exchange = Exchange(redis_client, SOL)
    resting = rest_orders(exchange)

    # ---------------------------------------------------------------- trading state
    bed.patch_market({"tradingState": "Halted"})
    bed.until("Halted acknowledged", lambda: bed.ready(2))
    assert bed.market()["status"]["lastAppliedTradingState"] == "Halted"
    assert bed.conditions()["Halted"] == ("True", "Halted")
    registered = control.registered(redis_client, "SOL_USDC")
    assert registered is not None
    assert registered["spec"]["tradingState"] == "Halted"

    # ---------------------------------------------------------------- image change
    bed.patch_market({"engine": {"image": NEW_IMAGE}})
    bed.until("an engine for the new Pod", lambda: len(bed.kubelet.runs) == 2)
    [(snapshot_command_id, snapshot_request)] = [
        (entry_id, command)
        for entry_id, command in commands(redis_client)
        if isinstance(command, TakeSnapshot)
    ]
    assert snapshot_request.request_id.startswith(f"{uid}.snapshot.")
    # When the Deployment's new template was first seen, the old engine (still running) had
    # written the snapshot that the operator asked for.
    at_roll = bed.kubelet.snapshot_at_generation[2]
    assert stream_id(at_roll) >= stream_id(snapshot_command_id)
    rolled = bed.found("deployment", ENGINE)
    assert rolled is not None
    assert rolled["metadata"]["generation"] == 2
    [container] = rolled["spec"]["template"]["spec"]["containers"]
    assert container["image"] == NEW_IMAGE
    # The Deployment controller made a second ReplicaSet for the new template.
    replica_sets = {rs["metadata"]["name"]: rs for rs in bed.selected("replicasets")}
    old_run, new_run = bed.kubelet.runs
    assert new_run.image == NEW_IMAGE
    assert sorted(replica_sets) == sorted({old_run.replica_set, new_run.replica_set})
    assert replica_sets[new_run.replica_set]["spec"]["replicas"] == 1
    assert replica_sets[old_run.replica_set]["spec"]["replicas"] == 0
    for replica_set in replica_sets.values():
        [owner] = replica_set["metadata"]["ownerReferences"]
        assert owner["uid"] == deployment["metadata"]["uid"]
    bed.until("Ready after the roll", lambda: bed.ready(3))
    assert bed.kubelet.most_pods_running == 1  # Recreate: never two engines at once

    # ---------------------------------------------------------------- delete
    bed.cluster.kubectl("delete", "market", MARKET, "-n", bed.namespace, "--wait=false")
    bed.until("the wait for the DB processor", lambda: "DB processor" in bed.condition_text())
    assert bed.conditions()["Ready"] == ("False", "Retiring")
    # The operator deleted the Deployment and the Service itself, once the engine had
    # cancelled every order; the engine stopped with its Pod.
    assert bed.found("deployment", ENGINE) is None
    assert bed.found("service", ENGINE) is None
    assert bed.kubelet.engine.process is None
    # Each control command went out once, however often kopf called the handlers.
    assert controls_sent(redis_client) == [
        ("SetTradingState", TradingState.HALTED, f"{uid}.g2.Halted"),
        ("TakeSnapshot", None, snapshot_request.request_id),
        ("SetTradingState", TradingState.CANCEL_ONLY, f"{uid}.retire.0"),
        ("CancelAllOrders", None, f"{uid}.retire.1"),
        ("SetTradingState", TradingState.HALTED, f"{uid}.retire.2"),
    ]
    assert control.registered(redis_client, "SOL_USDC") is not None  # not before dbproc read
    assert read_like_dbproc(redis_client) > 0
    bed.until("the Market gone", lambda: bed.found("market", MARKET) is None)
    # The operator may not touch ReplicaSets or Pods (rbac.yaml grants nothing on them): the
    # garbage collector removes them, following their ownerReferences to the Deployment.
    bed.until("the garbage collector", lambda: not bed.selected("replicasets,pods"))

    assert_locks_released(exchange, resting)
    assert control.registered(redis_client, "SOL_USDC") is None
    assert not redis_client.exists(keys.commands("SOL_USDC"), keys.events("SOL_USDC"))
    expected = {
        "Listed", "ServiceCreated", "EngineCreated", "ControlSent", "TradingStateChanged",
        "SnapshotTaken", "EngineRolled", "Retiring", "EngineStopping", "Delisted",
    }  # fmt: skip

    # kopf posts events from a queue of its own: the last may come after the finalizer went.
    def all_posted() -> list[str] | None:
        reasons = bed.event_reasons()
        return reasons if expected <= set(reasons) else None

    reasons = bed.until("every event", all_posted)
    assert reasons.count("Retiring") == 3
    assert bed.operator.refusals() == []


def test_a_foreground_cascade_leaves_the_locks_to_a_recreated_engine(on_testbed: Scene) -> None:
    """`kubectl delete --cascade=foreground`: the garbage collector deletes the Market's
    Deployment and Service (its ownerReferences) before anything else. The operator's retire
    cannot start while no engine runs, so what goes meanwhile is the collector's doing; the
    operator then makes the Deployment again, without an owner, for an engine to cancel the
    resting orders and release their locks, and deletes it itself when done."""
    bed, redis_client = on_testbed, on_testbed.redis
    uid, deployment = create_market(bed)
    exchange = Exchange(redis_client, SOL)
    resting = rest_orders(exchange)
    bed.kubelet.down = True
    bed.until("the heartbeat to lapse", lambda: control.heartbeat(redis_client, "SOL_USDC") is None)

    bed.cluster.kubectl(
        "delete", "market", MARKET, "-n", bed.namespace, "--cascade=foreground", "--wait=false"
    )
    bed.until("the Service gone", lambda: bed.found("service", ENGINE) is None)

    def recreated() -> dict[str, Any] | None:
        found = bed.found("deployment", ENGINE)
        return (
            found if found and found["metadata"]["uid"] != deployment["metadata"]["uid"] else None
        )

    again = bed.until("the Deployment made again", recreated)
    assert "ownerReferences" not in again["metadata"]
    # The collector is done with the Market (its foregroundDeletion finalizer is gone); the
    # operator's finalizer holds it, and the status says what the deletion waits for.
    bed.until(
        "the collector's finalizer to go",
        lambda: bed.market()["metadata"]["finalizers"] == [manifests.FINALIZER],
    )
    bed.until(
        "Degraded: EngineNotRunning",
        lambda: bed.conditions()["Degraded"] == ("True", "EngineNotRunning"),
    )
    bed.until("the EngineRecreated event", lambda: "EngineRecreated" in bed.event_reasons())
    # Nothing was sent to the absent engine, so the operator had deleted nothing yet either.
    assert controls_sent(redis_client) == []
    assert "EngineStopping" not in bed.event_reasons()

    bed.kubelet.down = False
    bed.until("the wait for the DB processor", lambda: "DB processor" in bed.condition_text())
    assert bed.found("deployment", ENGINE) is None
    assert controls_sent(redis_client) == [
        ("SetTradingState", TradingState.CANCEL_ONLY, f"{uid}.retire.0"),
        ("CancelAllOrders", None, f"{uid}.retire.1"),
        ("SetTradingState", TradingState.HALTED, f"{uid}.retire.2"),
    ]
    read_like_dbproc(redis_client)
    bed.until("the Market gone", lambda: bed.found("market", MARKET) is None)
    bed.until("the garbage collector", lambda: not bed.selected("replicasets,pods"))
    assert_locks_released(exchange, resting)
    assert control.registered(redis_client, "SOL_USDC") is None
    assert bed.operator.refusals() == []


def commands(client: redis.Redis) -> list[tuple[str, Any]]:
    stream = entries(client, keys.commands("SOL_USDC"))
    return [
        (entry_id, decode_command(fields[keys.COMMAND_FIELD.encode()]))
        for entry_id, fields in stream
    ]


def controls_sent(client: redis.Redis) -> list[tuple[str, Any, str]]:
    return [
        (type(c).__name__, getattr(c, "state", None), c.request_id)
        for c in queued_commands(client, "SOL_USDC")
        if not isinstance(c, PlaceOrder | CancelOrder | AmendOrder)
    ]
