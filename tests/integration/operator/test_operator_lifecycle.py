"""The operator in-process against KMock's Kubernetes API, with the real Redis and a real engine
process in place of the engine's pod: a Market from creation through a trading-state change and
an image change to its deletion, checked through what the API received and what Redis holds."""

from __future__ import annotations

import asyncio
from typing import Any

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.redis_replies import stream_id
from cryptex.wire import (
    AmendOrder,
    CancelOrder,
    OrderStatus,
    PlaceOrder,
    TakeSnapshot,
    TradingState,
    decode_command,
)
from cryptex_operator import control, manifests
from cryptex_operator.manifests import EngineConfig
from tests.integration.engine.harness import Exchange
from tests.integration.operator.apiserver import DEPLOYMENTS, MARKETS, SERVICES
from tests.integration.operator.cluster import (
    MARKET_PATH,
    NAMESPACE,
    Cluster,
    Place,
    eventually,
    read_like_dbproc,
    running_operator,
    without_server_fields,
)
from tests.integration.operator.conftest import rest_orders
from tests.streams import entries, queued_commands
from tests.unit.operator.markets import resource

SOL = MarketSpec.from_manifest(manifests.market_manifest(resource()))


def ready(cluster: Cluster, generation: int) -> bool:
    status = cluster.market_now().get("status", {})
    return status.get("observedGeneration") == generation and cluster.conditions().get("Ready") == (
        "True",
        "EngineRunning",
    )


def controls_sent(cluster: Cluster) -> list[tuple[str, Any, str]]:
    return [
        (type(c).__name__, getattr(c, "state", None), c.request_id)
        for c in queued_commands(cluster.redis, "SOL_USDC")
        if not isinstance(c, PlaceOrder | CancelOrder | AmendOrder)
    ]


async def test_a_market_from_creation_to_deletion(place: Place) -> None:
    async with running_operator(place) as cluster:
        await lifecycle(cluster)


async def lifecycle(cluster: Cluster) -> None:
    api, client, redis_client = cluster.api, cluster.client, cluster.redis

    # ---------------------------------------------------------------- create
    uid = (await client.create(MARKET_PATH, resource()))["metadata"]["uid"]
    await eventually("an engine for the Deployment", lambda: cluster.kubelet.templates)
    owner = {
        "apiVersion": "cryptex.io/v1alpha1", "kind": "Market", "name": "sol-usdc",
        "uid": uid, "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip
    config = EngineConfig(redis_url=cluster.redis_url)
    engine = resource()["spec"]["engine"]
    deployment = manifests.deployment("sol-usdc", NAMESPACE, SOL, engine, config)
    deployment["metadata"]["ownerReferences"] = [owner]
    [created, *_] = api.versions(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine")
    assert without_server_fields(created) == deployment
    service = manifests.service("sol-usdc", NAMESPACE, config)
    service["metadata"]["ownerReferences"] = [owner]
    [service_created] = api.versions(SERVICES, NAMESPACE, "sol-usdc-engine")
    assert without_server_fields(service_created) == service

    await eventually("Ready", lambda: ready(cluster, 1))
    status = cluster.market_now()["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "symbol": "SOL_USDC",
        "engineReady": True,
        "lastAppliedTradingState": "Active",
    }
    assert cluster.conditions() == {
        "Ready": ("True", "EngineRunning"),
        "EngineAvailable": ("True", "EngineRunning"),
        "Halted": ("False", "Active"),
        "Degraded": ("False", "AsExpected"),
    }
    assert cluster.market_now()["metadata"]["finalizers"] == ["cryptex.io/market-finalizer"]
    exchange = Exchange(redis_client, SOL)
    resting = await asyncio.to_thread(rest_orders, exchange)

    # ---------------------------------------------------------------- trading state
    await client.patch(f"{MARKET_PATH}/sol-usdc", {"spec": {"tradingState": "Halted"}})
    await eventually("Halted acknowledged", lambda: ready(cluster, 2))
    assert cluster.market_now()["status"]["lastAppliedTradingState"] == "Halted"
    assert cluster.conditions()["Halted"] == ("True", "Halted")
    registered = control.registered(redis_client, "SOL_USDC")
    assert registered is not None
    assert registered["spec"]["tradingState"] == "Halted"

    # ---------------------------------------------------------------- image change
    await client.patch(
        f"{MARKET_PATH}/sol-usdc", {"spec": {"engine": {"image": "cryptex/engine:0.2.0"}}}
    )
    await eventually("the new engine", lambda: len(cluster.kubelet.templates) == 2)
    [(snapshot_command_id, snapshot_request)] = [
        (entry_id, command)
        for entry_id, command in _commands(cluster)
        if isinstance(command, TakeSnapshot)
    ]
    assert snapshot_request.request_id.startswith(f"{uid}.snapshot.")
    # When the operator patched the Deployment, the snapshot had reached the request already.
    [at_roll] = cluster.snapshots_at_rolls
    assert stream_id(at_roll) >= stream_id(snapshot_command_id)
    rolled = api.versions(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine")[-1]
    [container] = rolled["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "cryptex/engine:0.2.0"
    assert rolled["metadata"]["generation"] == 2
    assert manifests.stored_hash(rolled) == cluster.kubelet.templates[1]
    assert cluster.kubelet.templates[1] != cluster.kubelet.templates[0]
    await eventually("Ready after the roll", lambda: ready(cluster, 3))

    # ---------------------------------------------------------------- delete
    await client.delete(f"{MARKET_PATH}/sol-usdc")
    await eventually("the wait for dbproc", lambda: "DB processor" in cluster.condition_messages())
    assert cluster.conditions()["Ready"] == ("False", "Retiring")
    assert cluster.kubelet.engine.process is None  # the engine stopped with its Deployment
    assert api.current(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine") is None
    assert api.current(SERVICES, NAMESPACE, "sol-usdc-engine") is None
    # Each control command went out once, however often kopf called the handlers.
    assert controls_sent(cluster) == [
        ("SetTradingState", TradingState.HALTED, f"{uid}.g2.Halted"),
        ("TakeSnapshot", None, snapshot_request.request_id),
        ("SetTradingState", TradingState.CANCEL_ONLY, f"{uid}.retire.0"),
        ("CancelAllOrders", None, f"{uid}.retire.1"),
        ("SetTradingState", TradingState.HALTED, f"{uid}.retire.2"),
    ]
    assert control.registered(redis_client, "SOL_USDC") is not None  # not before dbproc read
    assert read_like_dbproc(redis_client) > 0
    await eventually("the Market gone", lambda: cluster.market() is None)

    assert "finalizers" not in api.versions(MARKETS, NAMESPACE, "sol-usdc")[-1]["metadata"]
    for order_id in resting:
        record = exchange.ledger.order(order_id)
        assert record is not None
        assert (record.status, record.locked) == (OrderStatus.CANCELED, 0), order_id
    for account in (1, 2, 3):
        assert all(b.locked == 0 for b in exchange.ledger.balances(account).values())
    report = exchange.ledger.audit()
    assert report.ok, report.problems
    assert control.registered(redis_client, "SOL_USDC") is None
    assert not redis_client.exists(keys.commands("SOL_USDC"), keys.events("SOL_USDC"))

    reasons = api.event_reasons()
    for expected in (
        "Listed", "ServiceCreated", "EngineCreated", "ReadyTrue", "ControlSent",
        "TradingStateChanged", "SnapshotTaken", "EngineRolled", "Retiring", "EngineStopping",
        "Delisted",
    ):  # fmt: skip
        assert expected in reasons, (expected, reasons)
    assert reasons.count("Retiring") == 3
    assert reasons.count("TradingStateChanged") == 1


def _commands(cluster: Cluster) -> list[tuple[str, Any]]:
    stream = entries(cluster.redis, keys.commands("SOL_USDC"))
    return [
        (entry_id, decode_command(fields[keys.COMMAND_FIELD.encode()]))
        for entry_id, fields in stream
    ]
