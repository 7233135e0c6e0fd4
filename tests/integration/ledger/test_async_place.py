"""The API's place: the places of one event-loop turn reach Redis as one pipeline, and every
caller gets its own answer, also when Redis has lost its scripts or cannot be reached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio

from cryptex import keys
from cryptex.ledger import AsyncLedger, Ledger, PlaceOutcome
from cryptex.markets import MarketSpec
from cryptex.redis_access import connect_async
from cryptex.wire import OrderStatus, PlaceOrder, Side
from tests.integration.ledger.conftest import TS
from tests.servers import RedisServer, free_port
from tests.streams import queued_commands

USDC = 1_000_000  # one, in units


@pytest.fixture
async def async_ledger(redis_server: RedisServer) -> AsyncIterator[AsyncLedger]:
    client = connect_async(redis_server.url)
    yield AsyncLedger(client)
    await client.aclose()


def connections(client: redis.Redis) -> int:
    return len(client.client_list())


async def test_the_places_of_one_turn_share_a_connection_and_each_gets_its_own_answer(
    ledger: Ledger, async_ledger: AsyncLedger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    for account in range(1, 41):
        ledger.deposit(account, "USDC", 1_000 * USDC, f"d{account}", TS)
    before = connections(redis_client)
    placed = [PlaceOrder(100 + a, a, Side.BUY, 15_000, 1_000, TS) for a in range(1, 41)]
    broke = PlaceOrder(200, 99, Side.BUY, 15_000, 1_000, TS)  # account 99 has nothing
    results = await asyncio.gather(*(async_ledger.place(sol, c) for c in [*placed, broke]))
    assert connections(redis_client) == before + 1  # one pipeline, not forty-one commands
    assert [r.outcome for r in results] == [PlaceOutcome.PLACED] * 40 + [
        PlaceOutcome.INSUFFICIENT_FUNDS
    ]
    assert [r.order_id for r in results] == [c.order_id for c in [*placed, broke]]
    assert queued_commands(redis_client, sol.symbol) == [r.command for r in results[:40]]
    for command in placed:
        record = ledger.order(command.order_id)
        assert record is not None
        assert (record.account, record.status) == (command.account, OrderStatus.NEW)


async def test_a_client_order_id_is_placed_once_even_within_one_turn(
    ledger: Ledger, async_ledger: AsyncLedger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    first, again = await asyncio.gather(
        async_ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="x")),
        async_ledger.place(sol, PlaceOrder(12, 7, Side.BUY, 100, 100, TS, client_order_id="x")),
    )
    assert first.outcome is PlaceOutcome.PLACED
    assert (again.outcome, again.order_id) == (PlaceOutcome.DUPLICATE, 11)
    assert len(queued_commands(redis_client, sol.symbol)) == 1


async def test_places_go_on_after_redis_forgets_its_scripts(
    ledger: Ledger, async_ledger: AsyncLedger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    first = await async_ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))
    assert first.outcome is PlaceOutcome.PLACED
    redis_client.script_flush()  # as after a restart without the scripts
    results = await asyncio.gather(
        *(async_ledger.place(sol, PlaceOrder(i, 7, Side.BUY, 100, 100, TS)) for i in (12, 13))
    )
    assert [r.outcome for r in results] == [PlaceOutcome.PLACED] * 2
    assert len(queued_commands(redis_client, sol.symbol)) == 3


async def test_a_caller_that_gives_up_leaves_the_others_their_answers(
    ledger: Ledger, async_ledger: AsyncLedger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    tasks = [
        asyncio.create_task(async_ledger.place(sol, PlaceOrder(i, 7, Side.BUY, 100, 100, TS)))
        for i in (11, 12, 13)
    ]
    await asyncio.sleep(0)  # all three have joined the batch, which is on its way
    tasks[1].cancel()
    assert [r.outcome for r in await asyncio.gather(tasks[0], tasks[2])] == [
        PlaceOutcome.PLACED
    ] * 2
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    # What was sent was placed: the caller only stopped waiting (it can look the order up).
    assert redis_client.exists(keys.order(12))
    assert len(queued_commands(redis_client, sol.symbol)) == 3


async def test_every_caller_hears_that_redis_is_unreachable(sol: MarketSpec) -> None:
    client = connect_async(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    unreachable = AsyncLedger(client)
    results = await asyncio.gather(
        *(unreachable.place(sol, PlaceOrder(i, 7, Side.BUY, 100, 100, TS)) for i in (11, 12)),
        return_exceptions=True,
    )
    await client.aclose()
    assert all(isinstance(r, redis.ConnectionError) for r in results), results
