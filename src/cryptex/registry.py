"""The market registry in Redis: each listed market's `Market` manifest, by symbol. The
operator (or the local runner) writes it; engines, the API and the DB processor read it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis

from cryptex import keys
from cryptex.markets import MarketError, MarketSpec


def register(client: redis.Redis, manifest: Mapping[str, Any]) -> MarketSpec:
    """Validate a manifest and list its market (replacing an earlier definition)."""
    market = MarketSpec.from_manifest(manifest)
    client.hset(keys.MARKETS, market.symbol, json.dumps(manifest, sort_keys=True))
    return market


def unregister(client: redis.Redis, symbol: str) -> None:
    client.hdel(keys.MARKETS, symbol)


def load(client: redis.Redis, symbol: str) -> MarketSpec:
    raw = client.hget(keys.MARKETS, symbol)
    if raw is None:
        raise MarketError(f"market {symbol} is not in the registry")
    return MarketSpec.from_manifest(json.loads(raw))


def load_all(client: redis.Redis) -> dict[str, MarketSpec]:
    return parse_all(client.hgetall(keys.MARKETS))


def parse_all(raw: Mapping[bytes | str, bytes | str]) -> dict[str, MarketSpec]:
    """The registry hash as read by any client, sync or async."""
    markets = {}
    for manifest in raw.values():
        market = MarketSpec.from_manifest(json.loads(manifest))
        markets[market.symbol] = market
    return dict(sorted(markets.items()))
