"""Where an engine finds its market (the registry, or a manifest in local mode), what it says
when there is none, and the heartbeat the operator reads."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import cast

import redis
import yaml

from cryptex import keys, registry
from cryptex.markets import MarketSpec
from cryptex.wire import Side
from tests.integration.engine.harness import EXAMPLES, EngineProcess, Exchange
from tests.servers import RedisServer


def test_an_engine_runs_the_market_listed_in_the_registry(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange,
    tmp_path: Path,
) -> None:  # fmt: skip
    manifest = yaml.safe_load((EXAMPLES / "sol-usdc.yaml").read_text())
    assert registry.register(redis_client, manifest) == sol
    engine = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
    engine.start()
    try:
        exchange.fund(1, "USDC", "100")
        exchange.placed(1, Side.BUY, "10", "1")
        exchange.wait_settled()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # beats come a few times a lease period
            beat = json.loads(cast(bytes, redis_client.get(keys.heartbeat(sol.symbol))))
            if beat["restingOrders"] == 1:
                break
            time.sleep(0.05)
        assert (beat["tradingState"], beat["restingOrders"]) == ("Active", 1)
    finally:
        assert engine.stop() == 0


def test_an_unlisted_market_stops_the_engine_with_a_reason(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, tmp_path: Path
) -> None:
    engine = EngineProcess(redis_server.url, sol, tmp_path, from_registry=True)
    engine.start(wait=False)
    assert engine.process is not None
    assert engine.process.wait(timeout=20) == 2
    engine.process = None
    [line] = [json.loads(x) for x in engine.log_path.read_text().splitlines() if x.startswith("{")]
    assert (line["level"], line["msg"], line["market"]) == (
        "ERROR",
        "cannot load the market",
        "SOL_USDC",
    )
    assert "not in the registry" in line["error"]
