"""The operator in-process against KMock, with stand-ins for what a cluster would run: a
"kubelet" that runs a real engine process for the engine's Deployment and reports it ready."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
import kmock
import kopf
import pytest
import redis

from cryptex import keys
from cryptex.ledger import read_snapshot
from cryptex.markets import MarketSpec
from cryptex.wire import decode_engine_snapshot
from cryptex_operator import manifests
from cryptex_operator.handlers import build_registry
from cryptex_operator.settings import OperatorSettings
from tests.integration.engine.harness import EngineProcess
from tests.integration.operator.apiserver import (
    DEPLOYMENTS,
    MARKETS,
    ApiError,
    ApiServer,
    Client,
    write_kubeconfig,
)
from tests.servers import RedisServer
from tests.unit.operator.markets import resource

NAMESPACE = "cryptex"
MARKET_PATH = f"/apis/cryptex.io/v1alpha1/namespaces/{NAMESPACE}/markets"
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/sol-usdc-engine"
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp")


async def eventually(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """The first truthy answer of `check`, polled every 50 ms."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (answer := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"still waiting for {what}")
        await asyncio.sleep(0.05)
    return answer


def open_client_sessions() -> list[str]:
    """aiohttp client sessions left open: alive and not closed, or collected unclosed just now
    (aiohttp's finaliser then warns, which pytest would report later, at whatever test or at
    exit the collector happens to run)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    alive = [
        repr(found)
        for found in gc.get_objects()
        if isinstance(found, aiohttp.ClientSession) and not found.closed
    ]
    collected = [str(w.message) for w in caught if "Unclosed client session" in str(w.message)]
    return alive + collected


@contextlib.asynccontextmanager
async def background(coroutine: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(coroutine)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Kubelet:
    """The Deployment controller and the kubelet of the engine's Deployment: an engine process
    runs while the Deployment exists (unless `down`), is replaced when its pod template changes
    (Recreate), and the Deployment's status counts its pod ready."""

    def __init__(self, api: ApiServer, client: Client, engine: EngineProcess) -> None:
        self.api, self.client, self.engine = api, client, engine
        self.templates: list[str] = []  # the template hash of each engine started
        self.down = False  # the node is gone: no engine runs

    async def run(self) -> None:
        running: str | None = None
        while True:
            deployment = self.api.current(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine")
            wanted = None if self.down else manifests.stored_hash(deployment)
            if wanted != running:
                if self.engine.process is not None:
                    await asyncio.to_thread(self.engine.stop)
                if deployment is not None and wanted is not None:
                    await asyncio.to_thread(self._start)
                    self.templates.append(wanted)
                running = wanted
                if deployment is not None:
                    await self._report(deployment, ready=wanted is not None)
            await asyncio.sleep(0.05)

    def _start(self) -> None:
        self.engine.start(wait=False)
        self.engine.wait_healthy(timeout=60)  # generous: the machine may be busy

    async def _report(self, deployment: dict[str, Any], *, ready: bool) -> None:
        count = 1 if ready else 0
        status = {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": count,
        }
        try:
            await self.client.patch(f"{DEPLOYMENT_PATH}/status", {"status": status})
        except ApiError as error:
            if error.status != 404:  # deleted meanwhile: nothing to report on
                raise


@dataclass
class Cluster:
    api: ApiServer
    client: Client
    kubelet: Kubelet
    redis: redis.Redis
    redis_url: str
    snapshots_at_rolls: list[str] = field(default_factory=list)  # snapshot id at each roll

    def market(self) -> dict[str, Any] | None:
        return self.api.current(MARKETS, NAMESPACE, "sol-usdc")

    def market_now(self) -> dict[str, Any]:
        found = self.market()
        assert found is not None
        return found

    def conditions(self) -> dict[str, tuple[str, str]]:
        found = self.market_now().get("status", {}).get("conditions", [])
        return {c["type"]: (c["status"], c["reason"]) for c in found}

    def condition_messages(self) -> str:
        return str(self.market_now().get("status", {}).get("conditions", []))


@dataclass(frozen=True)
class Place:
    redis_server: RedisServer
    redis: redis.Redis
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch


@contextlib.asynccontextmanager
async def running_operator(place: Place) -> AsyncIterator[Cluster]:
    """KMock, the kubelet and the operator, watching every namespace, until the block ends."""
    redis_server, redis_client = place.redis_server, place.redis
    tmp_path, monkeypatch = place.tmp_path, place.monkeypatch
    settings = OperatorSettings(
        namespaces="*", redis_url=redis_server.url, status_interval_s=0.3,
        ack_wait_s=2, retry_delay_s=0.3, liveness_port=None,
    )  # fmt: skip
    rolls: list[str] = []

    def at_request(request: kmock.Request) -> None:
        patches_deployment = request.method == "PATCH" and request.resource == DEPLOYMENTS
        if patches_deployment and not request.subresource:
            rolls.append(snapshot_id(redis_client))

    async with ApiServer(on_request=at_request) as api, kmock.Server(api) as server:
        url = str(server.url)
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", url, NAMESPACE)))
        client = Client(url)
        sol = MarketSpec.from_manifest(manifests.market_manifest(resource()))
        engine = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
        kubelet = Kubelet(api, client, engine)
        stop = asyncio.Event()
        operator = kopf.operator(
            registry=build_registry(settings), memo=kopf.Memo(settings=settings),
            clusterwide=True, stop_flag=stop,
        )  # fmt: skip
        try:
            async with background(operator) as running, background(kubelet.run()):
                # Markets are made once kopf watches: KMock's watch streams the existing
                # objects again after kopf's list (it ignores the list's resourceVersion), and
                # kopf would then handle a stale duplicate.
                await eventually("kopf's watch", lambda: list(api[kmock.action.WATCH, MARKETS]))
                yield Cluster(api, client, kubelet, redis_client, redis_server.url, rolls)
                stop.set()
                await asyncio.wait_for(running, timeout=10)
        finally:
            await client.close()
            if engine.process is not None:
                engine.stop()


def snapshot_id(client: redis.Redis) -> str:
    raw = read_snapshot(client, "SOL_USDC")
    return decode_engine_snapshot(raw).last_command_id if raw else ""


def read_like_dbproc(client: redis.Redis) -> int:
    """Read and acknowledge the market's events as the DB processor would; returns how many."""
    stream, read = keys.events("SOL_USDC"), 0
    while reply := cast(
        list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
        client.xreadgroup(keys.EVENTS_GROUP, "dbproc-0", {stream: ">"}, count=100),
    ):
        ids = [entry_id for entry_id, _ in reply[0][1]]
        client.xack(stream, keys.EVENTS_GROUP, *ids)
        read += len(ids)
    return read


def without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj["metadata"].items() if k not in SERVER_FIELDS}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}
