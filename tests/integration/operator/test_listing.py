"""Listing a market: registry entry, streams and consumer groups, made once however often."""

from __future__ import annotations

import json
from typing import Any, cast

import redis

from cryptex import keys, registry
from cryptex.markets import MarketSpec
from cryptex_operator import control, manifests


def groups(client: redis.Redis, stream: str) -> dict[str, str]:
    found = client.xinfo_groups(stream)
    return {g["name"].decode(): g["last-delivered-id"].decode() for g in found}


def test_listing_twice_changes_nothing(
    redis_client: redis.Redis, sol: MarketSpec, sol_resource: dict[str, Any]
) -> None:
    redis_client.xadd(keys.commands("SOL_USDC"), {keys.COMMAND_FIELD: b"x"})
    redis_client.xreadgroup(keys.COMMANDS_GROUP, "engine", {keys.commands("SOL_USDC"): ">"})
    delivered = groups(redis_client, keys.commands("SOL_USDC"))[keys.COMMANDS_GROUP]
    again = control.list_market(redis_client, manifests.registry_manifest(sol_resource, "Active"))
    assert again == sol == registry.load(redis_client, "SOL_USDC")
    assert groups(redis_client, keys.commands("SOL_USDC")) == {keys.COMMANDS_GROUP: delivered}
    assert groups(redis_client, keys.events("SOL_USDC")) == {keys.EVENTS_GROUP: "0-0"}
    stored = control.registered(redis_client, "SOL_USDC")
    assert stored == manifests.registry_manifest(sol_resource, "Active")
    assert stored is not None
    assert stored == json.loads(cast(bytes, redis_client.hget(keys.MARKETS, "SOL_USDC")))
    assert control.registered(redis_client, "BTC_USDC") is None
    assert control.listed_markets(redis_client) == {"SOL_USDC": sol}
