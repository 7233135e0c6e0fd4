"""Drive a real DB processor (`python -m cryptex_dbproc`): start it, kill it, wait until it has
written every event entry, read back what PostgreSQL holds, and what the ledger says it should;
or write entries in-process, the way the processor does."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import asyncpg
import redis
import yaml

from cryptex import keys, registry
from cryptex.ledger import Ledger
from cryptex.markets import MarketSpec
from cryptex.redis_access import connect_async
from cryptex_dbproc import store
from cryptex_dbproc.batch import collect
from cryptex_dbproc.orders import Placement
from cryptex_dbproc.service import placements
from cryptex_dbproc.store import Written
from tests.integration.engine.harness import EXAMPLES
from tests.servers import free_port

# What the DB processor owns, each table in its key order: whole-state comparisons.
TABLES = {
    "trades": "SELECT * FROM trades ORDER BY market, trade_id",
    "orders": "SELECT * FROM orders ORDER BY order_id",
    "candles": "SELECT * FROM candles ORDER BY market, interval, open_time",
}

# Candles recomputed from the trades table, the way a reader would define them.
RECOMPUTED_CANDLES = """
WITH intervals(name, length) AS (
    VALUES ('1m', interval '1 minute'), ('5m', interval '5 minutes'),
           ('15m', interval '15 minutes'), ('1h', interval '1 hour'), ('1d', interval '1 day')),
bucketed AS (
    SELECT t.*, i.name AS interval, date_bin(i.length, t.ts, timestamptz 'epoch') AS open_time
      FROM trades t CROSS JOIN intervals i)
SELECT market, interval, open_time,
       (array_agg(price ORDER BY ts, trade_id))[1] AS open,
       max(price) AS high, min(price) AS low,
       (array_agg(price ORDER BY ts DESC, trade_id DESC))[1] AS close,
       sum(quantity) AS base_volume, sum(quote_quantity) AS quote_volume,
       count(*) AS trade_count,
       coalesce(sum(quantity) FILTER (WHERE taker_side = 'BUY'), 0) AS taker_buy_base_volume,
       coalesce(sum(quote_quantity) FILTER (WHERE taker_side = 'BUY'), 0)
           AS taker_buy_quote_volume
  FROM bucketed
 GROUP BY market, interval, open_time
 ORDER BY market, interval, open_time"""

STORED_CANDLES = """
SELECT market, interval, open_time, open, high, low, close, base_volume, quote_volume, trade_count,
       taker_buy_base_volume, taker_buy_quote_volume
  FROM candles ORDER BY market, interval, open_time"""


class DbprocProcess:
    def __init__(self, redis_url: str, database_url: str, log_dir: Path, **settings: str) -> None:
        self.log_path = log_dir / "dbproc.log"
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "CRYPTEX_REDIS_URL": redis_url,
            "CRYPTEX_DATABASE_URL": database_url,
            "CRYPTEX_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_METRICS_PORT": str(self.metrics_port),
            "CRYPTEX_REGISTRY_REFRESH_S": "0.2",
            **{f"CRYPTEX_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_dbproc"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dbproc exited: {self.log_tail()}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"dbproc not healthy: {self.log_tail()}")

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, cast(bytes, response.read()).decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_tail(self) -> str:
        return self.log_path.read_text()[-3000:]

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> int:
        return self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code


def list_market(client: redis.Redis, resource_name: str) -> None:
    """Put a market of crds/examples into the registry, as the operator would."""
    registry.register(client, yaml.safe_load((EXAMPLES / f"{resource_name}.yaml").read_text()))


def wait_written(client: redis.Redis, symbols: Sequence[str], timeout: float = 20) -> None:
    """Until the `dbproc` group has read and acknowledged every entry of these markets."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_drained(client, symbol) for symbol in symbols):
            return
        time.sleep(0.02)
    raise TimeoutError(f"event streams of {symbols} not written")


def _drained(client: redis.Redis, symbol: str) -> bool:
    groups: list[dict[str, Any]] = client.xinfo_groups(keys.events(symbol))
    for group in groups:
        if group["name"] in (keys.EVENTS_GROUP, keys.EVENTS_GROUP.encode()):
            return bool(group["lag"] == 0 and group["pending"] == 0)
    return False


def fetch(database_url: str, query: str, *args: object) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def tables(database_url: str) -> dict[str, list[dict[str, Any]]]:
    return {name: fetch(database_url, query) for name, query in TABLES.items()}


def exact(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals as their text, so that a scale (150.00 against 150.0) counts too."""
    return {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in row.items()}


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


def as_recorded(ledger: Ledger, market: MarketSpec, order_id: int) -> dict[str, Any]:
    """The orders row the ledger's record of an order calls for."""
    record = ledger.order(order_id)
    assert record is not None
    return {
        "order_id": order_id, "market": market.symbol, "account": record.account,
        "side": record.side.value, "order_type": record.order_type,
        "time_in_force": record.time_in_force, "price": market.format_price(record.price),
        "quantity": market.format_quantity(record.quantity),
        "executed": market.format_quantity(record.executed),
        "executed_quote": market.quote.format(record.executed_quote),
        "status": record.status.value, "reason": record.reason,
        "client_order_id": record.client_order_id, "created_at": at(record.created),
        "updated_at": at(record.updated),
    }  # fmt: skip


async def write_once(
    database_url: str, redis_url: str, market: MarketSpec,
    entries: list[tuple[str, dict[bytes, bytes]]],
) -> Written:  # fmt: skip
    """Write entries as the processor does (the ledger read by its own lookup)."""
    client = connect_async(redis_url)
    conn = await asyncpg.connect(database_url)

    async def lookup(order_ids: Collection[int]) -> Mapping[int, Placement]:
        return await placements(client, order_ids)

    try:
        return await store.write(conn, market, collect(entries), lookup)
    finally:
        await conn.close()
        await client.aclose()
