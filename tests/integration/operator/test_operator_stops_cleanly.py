"""The operator stops without leaving a client session open. kopf stops a timer only between its
runs: a status refresh in flight when the operator stops is waited for (up to
`handlers.STOP_WAIT_S`) before the cleanup closes the clients. Before, kopf left it orphaned
after a few event-loop turns, and its Kubernetes call, made after the cleanup, opened a session
that nothing closed: pytest reported it when the collector found it, and a green run exited
non-zero. And a closed `KubeApi` refuses calls instead of opening a new session."""

from __future__ import annotations

import asyncio
from typing import Any

import kmock
import kopf
import pytest

from cryptex_operator import manifests
from cryptex_operator.kube import DEPLOYMENTS, KubeApi, KubeClosedError
from tests.integration.operator.apiserver import ApiServer
from tests.integration.operator.cluster import (
    MARKET_PATH,
    NAMESPACE,
    Place,
    eventually,
    open_client_sessions,
    running_operator,
)
from tests.unit.operator.markets import resource

ENGINE = manifests.engine_name("sol-usdc")


async def test_a_status_refresh_in_flight_ends_before_the_clients_close(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh is held just before its Kubernetes call until the operator is stopping; it is
    let go a second later, while kopf shuts down."""
    armed, held, released = asyncio.Event(), asyncio.Event(), asyncio.Event()
    answers: list[object] = []
    kube_get = KubeApi.get

    async def held_once(api: KubeApi, *args: Any) -> dict[str, Any] | None:
        if not armed.is_set() or held.is_set():
            return await kube_get(api, *args)
        held.set()
        await released.wait()
        try:
            answer = await kube_get(api, *args)
        except Exception as error:
            answers.append(error)
            raise
        answers.append(answer)
        return answer

    monkeypatch.setattr(KubeApi, "get", held_once)
    async with running_operator(place) as cluster:
        await cluster.client.create(MARKET_PATH, resource())
        await eventually("Ready", lambda: cluster.conditions().get("Ready", ("",))[0] == "True")
        armed.set()  # only the status timer reads the Deployment now
        await eventually("a status refresh at its Kubernetes call", held.is_set)
        asyncio.get_running_loop().call_later(1.0, released.set)
    # The block's end stopped the operator; its cleanup came after the refresh, which was
    # answered through the operator's open session.
    [answer] = answers
    assert isinstance(answer, dict), answer
    assert answer["metadata"]["name"] == ENGINE
    assert open_client_sessions() == []


async def test_a_closed_client_refuses_calls_and_opens_no_session() -> None:
    async with ApiServer() as api, kmock.Server(api) as server:
        kube = KubeApi(lambda: kopf.ConnectionInfo(server=str(server.url)))
        assert await kube.get(DEPLOYMENTS, NAMESPACE, ENGINE) is None  # a session, opened
        await kube.close()
        with pytest.raises(KubeClosedError):
            await kube.get(DEPLOYMENTS, NAMESPACE, ENGINE)
        await kube.close()  # twice is fine
    assert open_client_sessions() == []
