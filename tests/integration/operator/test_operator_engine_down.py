"""Deleting a Market whose engine does not run: its resting orders cannot be cancelled, so the
operator says so in the status and waits, delisting nothing, until an engine runs again; and
makes the engine's Deployment again if it was deleted first."""

from __future__ import annotations

import asyncio

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import OrderStatus
from cryptex_operator import control, manifests
from tests.integration.engine.harness import Exchange
from tests.integration.operator.apiserver import DEPLOYMENTS, EVENTS
from tests.integration.operator.cluster import (
    DEPLOYMENT_PATH,
    MARKET_PATH,
    NAMESPACE,
    Place,
    eventually,
    read_like_dbproc,
    running_operator,
)
from tests.integration.operator.conftest import rest_orders
from tests.unit.operator.markets import resource

SOL = MarketSpec.from_manifest(manifests.market_manifest(resource()))


async def test_deletion_waits_for_an_engine_to_release_the_locks(place: Place) -> None:
    async with running_operator(place) as cluster:
        await cluster.client.create(MARKET_PATH, resource())
        await eventually("Ready", lambda: cluster.conditions().get("Ready", ("",))[0] == "True")
        exchange = Exchange(cluster.redis, SOL)
        resting = await asyncio.to_thread(rest_orders, exchange)

        cluster.kubelet.down = True
        await eventually(
            "no heartbeat", lambda: control.heartbeat(cluster.redis, "SOL_USDC") is None
        )
        await eventually(
            "EngineAvailable False",
            lambda: cluster.conditions()["EngineAvailable"] == ("False", "EngineNotRunning"),
        )
        await cluster.client.delete(f"{MARKET_PATH}/sol-usdc")
        await eventually(
            "Degraded", lambda: cluster.conditions()["Degraded"] == ("True", "EngineNotRunning")
        )
        assert "cannot cancel its resting orders until it runs" in cluster.condition_messages()
        await asyncio.sleep(1)  # several retries later, nothing was given up on
        assert control.registered(cluster.redis, "SOL_USDC") is not None
        for order_id in resting:
            record = exchange.ledger.order(order_id)
            assert record is not None
            assert record.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
            assert record.locked > 0

        cluster.kubelet.down = False
        await eventually("the wait for dbproc", lambda: "DB processor" in str(cluster.market()))
        read_like_dbproc(cluster.redis)
        await eventually("the Market gone", lambda: cluster.market() is None)
        for order_id in resting:
            record = exchange.ledger.order(order_id)
            assert record is not None
            assert (record.status, record.locked) == (OrderStatus.CANCELED, 0)
        report = exchange.ledger.audit()
        assert report.ok, report.problems
        assert not cluster.redis.exists(keys.commands("SOL_USDC"))


async def test_a_deployment_deleted_first_is_made_again_to_release_the_locks(
    place: Place,
) -> None:
    async with running_operator(place) as cluster:
        await cluster.client.create(MARKET_PATH, resource())
        await eventually("Ready", lambda: cluster.conditions().get("Ready", ("",))[0] == "True")
        exchange = Exchange(cluster.redis, SOL)
        resting = await asyncio.to_thread(rest_orders, exchange)

        # As `kubectl delete --cascade=foreground` would: the dependents go first.
        await cluster.client.delete(DEPLOYMENT_PATH)
        await eventually("the engine stopped", lambda: cluster.kubelet.engine.process is None)
        await cluster.client.delete(f"{MARKET_PATH}/sol-usdc")
        await eventually("the wait for dbproc", lambda: "DB processor" in str(cluster.market()))
        read_like_dbproc(cluster.redis)
        await eventually("the Market gone", lambda: cluster.market() is None)

        [_, recreated] = [
            v for v in cluster.api.objects[DEPLOYMENTS, NAMESPACE, "sol-usdc-engine"].history
            if v is not None and "status" not in v
        ]  # fmt: skip
        assert "ownerReferences" not in recreated["metadata"]
        assert cluster.api.current(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine") is None
        warned = [r.data["reason"] for r in cluster.api["post", EVENTS]]
        assert "EngineRecreated" in warned
        for order_id in resting:
            record = exchange.ledger.order(order_id)
            assert record is not None
            assert (record.status, record.locked) == (OrderStatus.CANCELED, 0)
        report = exchange.ledger.audit()
        assert report.ok, report.problems
