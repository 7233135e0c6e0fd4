"""A client that follows the snapshot + diff procedure ends with exactly the engine's book, both
when it subscribes before the flow and when it joins in the middle of it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import cast

import msgspec

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.wire import DepthSnapshot
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.integration.ws.flow import fund, random_flow
from tests.integration.ws.harness import BookFollower, Client, WsProcess

STREAM = "depth@SOL_USDC"


async def follow(client: Client, follower: BookFollower) -> None:
    seen = 0
    while True:
        await client.until(lambda n=seen: len(client.messages) > n, timeout=60)
        for message in client.messages[seen:]:
            follower.on(message["data"])
        seen = len(client.messages)


async def test_followers_rebuild_the_engines_book(
    engine: EngineProcess,
    exchange: Exchange,
    ws: WsProcess,
    sol: MarketSpec,
    open_client: Callable[[], Awaitable[Client]],
) -> None:
    fund(exchange)
    early = await open_client()
    await early.subscribe("depth@sol/usdc")  # any spelling: the stream is named canonically
    followers = {"early": BookFollower(), "late": BookFollower()}
    tasks = [asyncio.create_task(follow(early, followers["early"]))]
    halfway = threading.Event()
    flow = asyncio.create_task(
        asyncio.to_thread(random_flow, exchange, 400, seed=11, halfway=halfway.set)
    )
    await asyncio.to_thread(halfway.wait)
    late = await open_client()
    await late.subscribe(STREAM)
    tasks.append(asyncio.create_task(follow(late, followers["late"])))
    await flow
    await asyncio.to_thread(exchange.wait_settled)

    raw = cast(bytes, exchange.redis.get(keys.depth(sol.symbol)))
    snapshot = msgspec.msgpack.decode(raw, type=DepthSnapshot)
    expected = (
        [(sol.format_price(p.price), sol.format_quantity(p.quantity)) for p in snapshot.bids],
        [(sol.format_price(p.price), sol.format_quantity(p.quantity)) for p in snapshot.asks],
    )
    assert 0 < len(expected[0]) < 100
    assert 0 < len(expected[1]) < 100
    for name, follower in followers.items():
        await early.until(lambda f=follower: f.last_update_id == snapshot.last_update_id, 20)
        assert follower.book() == expected, name
    assert followers["early"].applied > 100  # diffs, not one late snapshot
    assert followers["late"].applied > 50
    for task in tasks:
        task.cancel()
