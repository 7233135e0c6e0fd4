"""A Market the operator must not list: refused for good (kopf.PermanentError), said in its
conditions and in a Warning event, with nothing made for it; a corrected spec lists it."""

from __future__ import annotations

from cryptex_operator import control, manifests
from tests.integration.operator.apiserver import DEPLOYMENTS, EVENTS, SERVICES, ApiServer
from tests.integration.operator.cluster import (
    MARKET_PATH,
    NAMESPACE,
    Place,
    eventually,
    running_operator,
)
from tests.unit.operator.markets import resource


def warnings(api: ApiServer) -> list[tuple[str, str]]:
    return [
        (request.data["reason"], request.data["message"])
        for request in api["post", EVENTS]
        if request.data["type"] == "Warning"
    ]


async def test_an_inexact_market_is_refused_until_its_spec_is_corrected(place: Place) -> None:
    async with running_operator(place) as cluster:
        await cluster.client.create(MARKET_PATH, resource(tickSize="0.0001"))
        await eventually("the refusal", lambda: cluster.market_now().get("status"))
        message = (
            "SOL_USDC: tickSize 0.0001 x lotSize 0.001 is finer than USDC's 6 decimals, so a "
            "notional would not be exact"
        )
        status = cluster.market_now()["status"]
        assert status["observedGeneration"] == 1
        assert cluster.conditions()["Degraded"] == ("True", "InvalidSpec")
        assert cluster.conditions()["Ready"] == ("False", "InvalidSpec")
        [degraded] = [c for c in status["conditions"] if c["type"] == "Degraded"]
        assert degraded["message"] == message
        await eventually("the warning", lambda: ("InvalidSpec", message) in warnings(cluster.api))
        assert control.registered(cluster.redis, "SOL_USDC") is None
        assert cluster.api.current(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine") is None
        assert cluster.api.current(SERVICES, NAMESPACE, "sol-usdc-engine") is None

        await cluster.client.patch(f"{MARKET_PATH}/sol-usdc", {"spec": {"tickSize": "0.01"}})
        await eventually("listing", lambda: control.registered(cluster.redis, "SOL_USDC"))
        await eventually("Degraded cleared", lambda: cluster.conditions()["Degraded"][0] == "False")
        assert cluster.market_now()["status"]["observedGeneration"] == 2
        await eventually("the engine", lambda: cluster.kubelet.templates)


async def test_an_asset_with_other_decimals_than_a_listed_market_is_refused(
    place: Place,
) -> None:
    btc = manifests.registry_manifest(resource("btc-usdc"), "Active")
    control.list_market(place.redis, btc)
    async with running_operator(place) as cluster:
        usdc2 = resource(quote={"symbol": "USDC", "decimals": 2}, lotSize="1", minQty="1")
        await cluster.client.create(MARKET_PATH, usdc2)
        message = (
            "SOL_USDC: USDC has 2 decimals here but 6 in the listed market BTC_USDC; an asset "
            "has one unit across every market"
        )
        await eventually("the warning", lambda: ("InvalidSpec", message) in warnings(cluster.api))
        assert cluster.conditions()["Degraded"] == ("True", "InvalidSpec")
        assert control.registered(place.redis, "SOL_USDC") is None
        assert cluster.api.current(DEPLOYMENTS, NAMESPACE, "sol-usdc-engine") is None

        # Never listed, so deleting it has nothing to retire.
        await cluster.client.delete(f"{MARKET_PATH}/sol-usdc")
        await eventually("the Market gone", lambda: cluster.market() is None)
        assert control.registered(place.redis, "BTC_USDC") == btc
