"""The API's `/api/v1/klines` serves the candles the DB processor wrote, exactly: the API runs
as a real process on the same PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from cryptex.wire import Side
from tests.integration.dbproc.harness import DbprocProcess, fetch, wait_written
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer, free_port

MINUTE = 1_699_999_980_000  # epoch ms at the start of a minute


def test_klines_serve_the_written_candles(
    engine: EngineProcess, dbproc: DbprocProcess, exchange: Exchange, database_url: str,
    redis_server: RedisServer, redis_client: redis.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    exchange.ts = MINUTE + 10_000
    for price, gap in (("150.00", 0), ("151.25", 10_000), ("149.50", 45_000), ("150.75", 60_000)):
        exchange.ts += gap
        exchange.placed(2, Side.SELL, price, "0.25")
        exchange.placed(1, Side.BUY, price, "0.25")
    exchange.wait_settled()
    wait_written(redis_client, ["SOL_USDC"])

    port = free_port()
    env = {
        **os.environ, "CRYPTEX_REDIS_URL": redis_server.url, "CRYPTEX_DATABASE_URL": database_url,
        "CRYPTEX_PORT": str(port), "CRYPTEX_DEV_MODE": "true",
    }  # fmt: skip
    with (tmp_path / "api.log").open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "cryptex_api"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/klines"
        deadline = time.monotonic() + 30
        while True:
            try:
                minutes = httpx.get(url, params={"symbol": "sol/usdc", "interval": "1m"})
                break
            except httpx.TransportError:
                assert api.poll() is None, "the API exited"
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.05)
        day = httpx.get(url, params={"symbol": "SOL_USDC", "interval": "1d"})
    finally:
        api.terminate()
        api.wait(timeout=20)

    assert minutes.status_code == 200, minutes.text
    # every taker bought (the buy came second): the taker-buy volumes are the volumes
    assert minutes.json() == [
        [MINUTE, "150.00", "151.25", "150.00", "151.25", "0.500", MINUTE + 59_999,
         "75.312500", 2, "0.500", "75.312500"],
        [MINUTE + 60_000, "149.50", "149.50", "149.50", "149.50", "0.250", MINUTE + 119_999,
         "37.375000", 1, "0.250", "37.375000"],
        [MINUTE + 120_000, "150.75", "150.75", "150.75", "150.75", "0.250", MINUTE + 179_999,
         "37.687500", 1, "0.250", "37.687500"],
    ]  # fmt: skip
    [row] = fetch(database_url, "SELECT open, high, low, close FROM candles WHERE interval = '1d'")
    assert day.json() == [
        [1_699_920_000_000, "150.00", "151.25", "149.50", "150.75", "1.000", 1_700_006_399_999,
         "150.375000", 4, "1.000", "150.375000"],
    ]  # fmt: skip
    assert [format(v, "f") for v in row.values()] == ["150.00", "151.25", "149.50", "150.75"]
