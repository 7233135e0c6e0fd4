"""What an SRE sees: `/metrics` (rows, batches, lag), `/healthz`, one JSON object per log line,
and a processor that waits for its database instead of dying."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from cryptex.wire import Side
from tests.integration.dbproc.harness import DbprocProcess, wait_written
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer, free_port


def test_metrics_health_and_json_logs(
    engine: EngineProcess, dbproc: DbprocProcess, exchange: Exchange, redis_client: redis.Redis
) -> None:
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    exchange.placed(2, Side.SELL, "150.00", "1")
    exchange.placed(1, Side.BUY, "150.00", "0.4")
    exchange.placed(1, Side.BUY, "150.00", "0.6")
    exchange.wait_settled()
    wait_written(redis_client, ["SOL_USDC"])
    time.sleep(0.3)  # a registry refresh, which reads the lag

    assert dbproc.get("/healthz") == (200, "ok\n")
    metrics = dbproc.get("/metrics")[1]
    for line in (
        'cryptex_dbproc_rows_total{market="SOL_USDC",table="trades"} 2.0',
        'cryptex_dbproc_stream_lag{market="SOL_USDC"} 0.0',
        'cryptex_dbproc_pending_entries{market="SOL_USDC"} 0.0',
    ):
        assert line in metrics
    assert 'cryptex_dbproc_rows_total{market="SOL_USDC",table="candles"}' in metrics
    assert 'cryptex_dbproc_batch_events_count{market="SOL_USDC"}' in metrics
    assert 'cryptex_dbproc_batch_seconds_bucket{le="0.1",market="SOL_USDC"}' in metrics
    lines = [json.loads(line) for line in dbproc.log_path.read_text().splitlines()]
    assert all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
    assert {"msg": "reading a new market", "market": "SOL_USDC"}.items() <= lines[0].items()


def test_without_its_database_it_waits_unhealthy_and_says_why(
    redis_server: RedisServer, redis_client: redis.Redis, tmp_path: Path
) -> None:
    nowhere = f"postgresql://cryptex@127.0.0.1:{free_port()}/cryptex"
    dbproc = DbprocProcess(redis_server.url, nowhere, tmp_path)
    dbproc.start(wait=False)
    try:
        deadline = time.monotonic() + 10
        while "unreachable at start" not in dbproc.log_path.read_text():
            assert time.monotonic() < deadline, dbproc.log_tail()
            time.sleep(0.05)
        assert dbproc.get("/healthz") == (503, "unhealthy\n")
    finally:
        assert dbproc.stop() == 0
