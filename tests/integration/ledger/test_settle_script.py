"""The settle script: all or nothing, and once it has written, never reported as failed."""

from __future__ import annotations

from typing import cast

import redis

from cryptex import keys
from cryptex.ledger import Balance, Ledger, SettleBatch
from tests.integration.ledger.conftest import TS
from tests.integration.ledger.settling import DirectSettler


def test_a_settle_whose_next_read_fails_is_still_settled(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    """The read of the next commands comes after the writes: if it fails (here the group is
    gone), the batch stays settled and the engine is told so, with nothing delivered."""
    ledger.deposit(7, "USDC", 100, "d", TS)
    settler = DirectSettler(ledger, redis_client, "SOL_USDC")
    batch = SettleBatch()
    batch.move(7, "USDC", -10)
    batch.move(8, "USDC", 10)
    stream = keys.commands("SOL_USDC")
    command_id = cast(bytes, redis_client.xadd(stream, {keys.COMMAND_FIELD: b"-"})).decode()
    redis_client.xreadgroup(keys.COMMANDS_GROUP, keys.ENGINE_CONSUMER, {stream: ">"})
    redis_client.xgroup_destroy(stream, keys.COMMANDS_GROUP)
    batch.acks.append(command_id)
    delivered = ledger.settle(
        "SOL_USDC", settler.token, "", command_id, batch, b"",
        first_command_id=command_id, read_next=100,
    )  # fmt: skip
    assert delivered == []
    assert ledger.balances(7) == {"USDC": Balance(90, 0)}
    assert ledger.balances(8) == {"USDC": Balance(10, 0)}
    assert redis_client.get(keys.applied("SOL_USDC")) == command_id.encode()
    redis_client.sadd(keys.ACCOUNTS, 8)


def test_open_order_counts_follow_the_open_sets(ledger: Ledger, redis_client: redis.Redis) -> None:
    settler = DirectSettler(ledger, redis_client, "SOL_USDC")
    opening = SettleBatch()
    opening.open_order(7, 11, True)
    opening.open_order(7, 12, True)
    settler.settle(opening)
    assert redis_client.hget(keys.open_order_counts(7), "SOL_USDC") == b"2"
    closing = SettleBatch()
    closing.open_order(7, 11, False)
    closing.open_order(7, 13, False)  # not open: counts nothing
    settler.settle(closing)
    assert redis_client.smembers(keys.open_orders(7)) == {b"12"}
    assert redis_client.hget(keys.open_order_counts(7), "SOL_USDC") == b"1"
    redis_client.delete(keys.open_orders(7), keys.open_order_counts(7))
