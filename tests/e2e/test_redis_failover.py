"""`stack.py up --ha`: Redis with a replica and three Sentinels. The primary killed, the
Sentinels promote the replica and every service follows it without a restart: orders are
taken, matched by the engine and settled again, and the ledger audit passes on the new primary.

What this does not yet promise: an answer given in the last instant before the primary died may
not have reached the replica (acknowledgements do not wait for it yet)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis

from tests.e2e.harness import StackRun, Trader, sign_up
from tests.e2e.monitoring import kill, wait_until

FUNDS = {"USDC": "10000", "SOL": "100"}
SOL = "SOL_USDC"


@pytest.fixture(scope="module")
def ha() -> Iterator[StackRun]:
    run = StackRun("--no-mm", "--no-monitoring", "--ha")
    try:
        run.up()
        yield run
    finally:
        run.remove()


async def trade(buyer: Trader, seller: Trader) -> str:
    """A resting sell taken by a buy: the engine's answer (the buy's status)."""
    await seller.place("sell", "20.00", "1", SOL)
    taken = await buyer.place("buy", "20.00", "1", SOL)
    return str(taken["status"])


def test_services_follow_a_failover(ha: StackRun) -> None:
    primary, replica = ha.state["redis_servers"]
    assert ha.state["redis"].startswith("redis+sentinel://")

    async def traders() -> tuple[Trader, Trader]:
        return await sign_up(ha, FUNDS), await sign_up(ha, FUNDS)

    buyer, seller = asyncio.run(traders())

    async def one_trade() -> str:
        """In a loop of its own each time: new connections, as a client after an outage."""
        async with ha.http(buyer.token) as bought, ha.http(seller.token) as sold:
            return await trade(
                Trader(buyer.account, buyer.email, buyer.token, bought),
                Trader(seller.account, seller.email, seller.token, sold),
            )

    assert asyncio.run(one_trade()) == "FILLED"
    kill(ha, "redis")
    started = time.monotonic()

    def trading() -> bool:
        try:
            return asyncio.run(one_trade()) == "FILLED"
        except (AssertionError, OSError):
            return False

    wait_until(trading, 90, "trading does not resume after the failover")
    print(f"trading resumed {time.monotonic() - started:.1f} s after the primary died")
    with redis.Redis.from_url(replica) as promoted:
        assert promoted.info("replication")["role"] == "master"
    for _ in range(3):
        assert asyncio.run(one_trade()) == "FILLED"
    ha.audit()
    assert primary != replica
