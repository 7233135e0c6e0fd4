"""The ledger's order records as the DB processor reads them (one script call per thousand
orders): found ones with their types, missing ones left out, an unreadable one reported and
left out without losing the others."""

from __future__ import annotations

import asyncio

import pytest
import redis

from cryptex import keys
from cryptex.ledger import OrderRecord
from cryptex.redis_access import connect_async
from cryptex.wire import Side
from cryptex_dbproc.orders import Placement
from cryptex_dbproc.service import placements
from tests.servers import RedisServer


def record(order_id: int) -> OrderRecord:
    return OrderRecord(
        order_id=order_id, market="SOL_USDC", account=7, side=Side.SELL, order_type="LIMIT",
        time_in_force="GTC", price=15_000 + order_id, quantity=1_000, lock_asset="SOL",
        locked=1, client_order_id=f"c-{order_id}", created=1_700_000_000_000 + order_id,
        updated=1_700_000_000_000 + order_id,
    )  # fmt: skip


def test_found_missing_and_unreadable_records(
    redis_server: RedisServer, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    pipe = redis_client.pipeline()
    for order_id in range(1, 2_501):  # three script calls
        fields = record(order_id).to_fields()
        pipe.hset(keys.order(order_id), mapping=dict(zip(fields[::2], fields[1::2], strict=True)))
    pipe.execute()
    redis_client.delete(keys.order(7))
    redis_client.hset(keys.order(1_500), "created", "yesterday")

    async def read() -> dict[int, Placement]:
        client = connect_async(redis_server.url)
        try:
            return await placements(client, [*range(1, 2_501), 9_999])
        finally:
            await client.aclose()

    found = asyncio.run(read())
    assert sorted(found) == [i for i in range(1, 2_501) if i not in (7, 1_500)]
    assert found[2_500] == Placement(
        "SOL_USDC", 7, Side.SELL, 17_500, 1_000, "LIMIT", "GTC", "c-2500", 1_700_000_002_500
    )
    [logged] = [r for r in caplog.records if r.getMessage() == "unreadable order record"]
    assert logged.__dict__["order_id"] == 1_500
