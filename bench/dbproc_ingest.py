"""Ingest throughput of the DB processor: event stream -> trades, order history and candles in
PostgreSQL. Figures, never assertions (but a run whose tables are wrong is invalid: exit 1).

The benchmark starts its own `redis-server` (free loopback port, temp dir, AOF with
`appendfsync always`) and PostgreSQL (`initdb` in a temp dir, programs found by `pg_config`,
run as the `postgres` user under root, default durability settings unless `--fast-postgres`),
or uses `--database-url`, and stops what it started by pid at the end, also on error. It
reports its own CPU time and that of the PostgreSQL it started, per trade: figures that the
machine's other load does not change much, unlike trades/s.

Workload (seeded), SOL_USDC around 150.00 USDC: `--trades` trades (default 200,000) written
directly into the market's event stream as the engine writes it, one entry per engine batch of
about `--events-per-entry` events (default 500). Each maker rests (OrderAccepted) and is taken
by 1-4 takers; each taker is accepted, trades once, and is filled (or, one in ten, an IOC whose
remainder expires); a maker ends filled, or, one in five, cancelled with its remainder. Times
advance 0-40 ms per order, so candles of every interval roll over. Each order also gets its
ledger record (`order:{id}`), which the processor reads for static fields.

Then an in-process `Processor` (the service's own code: registry, consumer group, reads,
transactions, acknowledgements) runs `run_once()` until every entry is acknowledged. Reported:
trades/s and events/s over the drain (candles included: they are written in the same
transactions), latency of each batch (from the read of a market's entries to their
acknowledgement after the commit) p50 and p99, entries per batch. Afterwards the trades table must
hold every trade once, candles must equal a recomputation from it, and the orders count must be
right.

Human lines go to stderr; the last line on stdout is one JSON object of every figure.

    python bench/dbproc_ingest.py [--trades 200000] [--events-per-entry 500]
        [--batch-size 32] [--fast-postgres] [--database-url URL] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import redis
import yaml

from cryptex import keys, registry
from cryptex.ledger import OrderRecord
from cryptex.markets import MarketSpec
from cryptex.redis_access import connect_async
from cryptex.wire import (
    Event,
    ExpireReason,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    Side,
    TradeExecuted,
    encode,
)
from cryptex_dbproc.service import Processor, Ready
from cryptex_dbproc.settings import DbprocSettings

# The benchmarks start their servers the way the tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "crds" / "examples" / "sol-usdc.yaml"
MID = 15_000  # ticks: 150.00 USDC
FIRST_TS = 1_700_000_000_000

RECOMPUTED_CANDLES = """
WITH intervals(name, length) AS (
    VALUES ('1m', interval '1 minute'), ('5m', interval '5 minutes'),
           ('15m', interval '15 minutes'), ('1h', interval '1 hour'), ('1d', interval '1 day')),
bucketed AS (
    SELECT t.*, i.name AS interval, date_bin(i.length, t.ts, timestamptz 'epoch') AS open_time
      FROM trades t CROSS JOIN intervals i)
SELECT market, interval, open_time,
       (array_agg(price ORDER BY ts, trade_id))[1], max(price), min(price),
       (array_agg(price ORDER BY ts DESC, trade_id DESC))[1], sum(quantity),
       sum(quote_quantity), count(*)
  FROM bucketed GROUP BY market, interval, open_time ORDER BY market, interval, open_time"""
STORED_CANDLES = """
SELECT market, interval, open_time, open, high, low, close, base_volume, quote_volume, trade_count
  FROM candles ORDER BY market, interval, open_time"""


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ servers


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def postgres_bin() -> Path:
    """Where the server's programs are, as `pg_config` says (Debian keeps them off PATH)."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


@contextmanager
def postgres_server(fast: bool) -> Iterator[tuple[str, int]]:
    """initdb in a temp dir, handed to `postgres` under root (it refuses root), started as
    that user so the pid we stop is the server's."""
    bin_dir = postgres_bin()
    if not (bin_dir / "postgres").exists():
        raise SystemExit(f"no postgres server program in {bin_dir} (apt-get install postgresql)")
    user = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="cryptex-bench-pg-"))
    if user is not None:
        shutil.chown(directory, user, user)
    data, port = directory / "data", free_port()
    try:
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "cryptex", "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, user=user, cwd=directory,
        )  # fmt: skip
        options = ["-c", "fsync=off", "-c", "synchronous_commit=off"] if fast else []
        with (directory / "postgres.log").open("ab") as out:
            process = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                 "-h", "127.0.0.1", "-k", str(directory), "-c", "shared_buffers=512MB",
                 "-c", "max_wal_size=4GB", *options],
                stdout=out, stderr=subprocess.STDOUT, user=user, cwd=directory,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True, check=False,
            ).returncode:  # fmt: skip
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("postgres did not start")
                time.sleep(0.05)
            subprocess.run(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                 "-U", "cryptex", "cryptex"],
                check=True, capture_output=True,
            )  # fmt: skip
            yield f"postgresql://cryptex@127.0.0.1:{port}/cryptex", process.pid
        finally:
            _stop(process, signal.SIGINT)  # fast shutdown
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def server_cpu_s(pid: int | None) -> float | None:
    """CPU seconds of a PostgreSQL server so far: the postmaster, its live children (the
    backends) and its exited ones. None for a server not started here."""
    if pid is None:
        return None
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if stat.parent.name == str(pid):
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ workload


class Workload:
    """Orders and their events, as one engine emits them; entries of about `per_entry`."""

    def __init__(self, market: MarketSpec, seed: int, per_entry: int) -> None:
        self.market = market
        self.rng = random.Random(seed)
        self.per_entry = per_entry
        self.ts = FIRST_TS
        self.order_id = 0
        self.trade_id = 0
        self.entries: list[list[Event]] = [[]]
        self.records: list[OrderRecord] = []

    def _emit(self, *events: Event) -> None:
        self.entries[-1].extend(events)

    def _order(self, account: int, side: Side, price: int, lots: int, tif: str) -> int:
        self.order_id += 1
        self.ts += self.rng.randint(0, 40)
        self.records.append(
            OrderRecord(
                order_id=self.order_id, market=self.market.symbol, account=account, side=side,
                order_type="LIMIT", time_in_force=tif, price=price, quantity=lots,
                lock_asset="USDC" if side is Side.BUY else "SOL", locked=0,
                created=self.ts, updated=self.ts,
            )
        )  # fmt: skip
        self._emit(OrderAccepted(self.order_id, account, side, price, lots, self.ts))
        return self.order_id

    def generate(self, trades: int) -> None:
        rng = self.rng
        while self.trade_id < trades:
            if len(self.entries[-1]) >= self.per_entry:
                self.entries.append([])
            maker_side = rng.choice((Side.BUY, Side.SELL))
            taker_side = Side.SELL if maker_side is Side.BUY else Side.BUY
            price = MID + rng.randint(-50, 50)
            maker_account = rng.randint(1, 500)
            takers = [rng.randint(1, 20) * 50 for _ in range(rng.randint(1, 4))]  # lots
            maker_lots = sum(takers) + (rng.randint(1, 10) * 50 if rng.random() < 0.2 else 0)
            maker = self._order(maker_account, maker_side, price, maker_lots, "GTC")
            left = maker_lots
            for lots in takers:
                if self.trade_id >= trades:
                    break
                ioc = rng.random() < 0.1
                taker_account = rng.randint(1, 500)
                wanted = lots + (50 if ioc else 0)
                taker = self._order(
                    taker_account, taker_side, price, wanted, "IOC" if ioc else "GTC"
                )
                self.trade_id += 1
                left -= lots
                self._emit(
                    TradeExecuted(
                        self.trade_id, price, lots, taker_side, maker, maker_account, taker,
                        taker_account, self.ts,
                    )
                )  # fmt: skip
                if left == 0:
                    self._emit(OrderFilled(maker, maker_account, self.ts))
                self._emit(
                    OrderExpired(taker, taker_account, 50, ExpireReason.IOC, self.ts)
                    if ioc
                    else OrderFilled(taker, taker_account, self.ts)
                )
            if left > 0:
                self.ts += rng.randint(0, 40)
                self._emit(OrderCancelled(maker, maker_account, left, self.ts))

    def load(self, client: redis.Redis) -> None:
        stream = keys.events(self.market.symbol)
        pipe = client.pipeline(transaction=False)
        for index, events in enumerate(self.entries, 1):
            pipe.xadd(
                stream,
                {keys.EVENTS_FIELD: encode(events), keys.SETTLED_COMMAND_FIELD: f"{index}-0"},
            )
            if index % 200 == 0:
                pipe.execute()
        for index, record in enumerate(self.records, 1):
            pipe.hset(keys.order(record.order_id), mapping=dict(_pairs(record.to_fields())))
            if index % 2_000 == 0:
                pipe.execute()
        pipe.execute()


def _pairs(flat: list[str]) -> Iterator[tuple[str, str]]:
    return zip(flat[::2], flat[1::2], strict=True)


# ------------------------------------------------------------------ drain


def pct_ms(seconds: Sequence[float], p: float) -> float | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)


async def drain(
    redis_url: str, database_url: str, market: MarketSpec, batch_size: int, entries: int,
    postgres_pid: int | None,
) -> dict[str, Any]:  # fmt: skip
    settings = DbprocSettings(
        database_url=database_url, redis_url=redis_url, batch_size=batch_size, block_ms=10
    )
    client = connect_async(redis_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=settings.pool_size)
    processor = Processor(client, pool, settings)
    await processor.start()
    batch_s: list[float] = []
    batch_entries: list[int] = []
    commit = processor.commit

    async def timed_commit(symbol: str, ready: Ready) -> int:
        events = await commit(symbol, ready)
        batch_s.append(time.perf_counter() - ready.read_at)
        batch_entries.append(len(ready.prepared.batch.entry_ids))
        return events

    processor.commit = timed_commit  # type: ignore[method-assign]
    events = 0
    started, cpu, server_cpu = time.perf_counter(), time.process_time(), server_cpu_s(postgres_pid)
    while sum(batch_entries) < entries:
        events += await processor.run_once()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_cpu_after = server_cpu_s(postgres_pid)
    await pool.close()
    await client.aclose()
    return {
        "drain_s": round(elapsed, 2),
        "processor_cpu_s": round(cpu, 2),
        "postgres_cpu_s": (
            None
            if server_cpu is None or server_cpu_after is None
            else round(server_cpu_after - server_cpu, 2)
        ),
        "events_written": events,
        "batches": len(batch_s),
        "entries_per_batch": round(sum(batch_entries) / len(batch_entries), 1),
        "batch_ms_p50": pct_ms(batch_s, 50),
        "batch_ms_p99": pct_ms(batch_s, 99),
    }


async def check(database_url: str, trades: int, orders: int) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        problems = []
        counted = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT trade_id) AS ids FROM trades"
        )
        assert counted is not None
        if (counted["n"], counted["ids"]) != (trades, trades):
            problems.append(f"trades table holds {dict(counted)}, expected {trades} once each")
        if await conn.fetch(STORED_CANDLES) != await conn.fetch(RECOMPUTED_CANDLES):
            problems.append("candles differ from a recomputation from the trades")
        if (stored := await conn.fetchval("SELECT count(*) FROM orders")) != orders:
            problems.append(f"orders table holds {stored} rows, expected {orders}")
        return problems
    finally:
        await conn.close()


def run(
    args: argparse.Namespace, redis_url: str, database_url: str, postgres_pid: int | None
) -> dict[str, Any]:
    manifest = yaml.safe_load(MANIFEST.read_text())
    client = redis.Redis.from_url(redis_url)
    market = registry.register(client, manifest)
    workload = Workload(market, args.seed, args.events_per_entry)
    workload.generate(args.trades)
    events = sum(len(entry) for entry in workload.entries)
    log(
        f"workload: {args.trades:,} trades, {len(workload.records):,} orders, {events:,} events "
        f"in {len(workload.entries):,} entries"
    )
    started = time.perf_counter()
    workload.load(client)
    loaded_s = time.perf_counter() - started
    log(f"  loaded into the stream and the ledger's records in {loaded_s:.1f} s")
    entries, orders = len(workload.entries), len(workload.records)
    del workload  # a million live objects would slow the drain's garbage collections
    gc.collect()
    figures = asyncio.run(
        drain(redis_url, database_url, market, args.batch_size, entries, postgres_pid)
    )
    problems = asyncio.run(check(database_url, args.trades, orders))
    trades_per_s = round(args.trades / figures["drain_s"])
    log(
        f" drain: {trades_per_s:>9,} trades/s, {round(events / figures['drain_s']):,} events/s "
        f"({figures['drain_s']} s); batch p50 {figures['batch_ms_p50']} ms, p99 "
        f"{figures['batch_ms_p99']} ms, {figures['entries_per_batch']} entries a batch"
    )
    log(
        f"  cpu: processor {figures['processor_cpu_s']} s, postgres {figures['postgres_cpu_s']} s "
        f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)"
    )
    log("  valid" if not problems else f"  INVALID: {problems}")
    return {
        "benchmark": "dbproc_ingest",
        "trades": args.trades,
        "trades_per_s": trades_per_s,
        "events_per_s": round(events / figures["drain_s"]),
        "batch_ms_p50": figures["batch_ms_p50"],
        "batch_ms_p99": figures["batch_ms_p99"],
        "valid": not problems,
        "cpu_us_per_trade": {
            "processor": round(figures["processor_cpu_s"] / args.trades * 1e6, 1),
            "postgres": (
                None
                if figures["postgres_cpu_s"] is None
                else round(figures["postgres_cpu_s"] / args.trades * 1e6, 1)
            ),
        },
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "problems": problems,
        "orders": orders,
        "events": events,
        "entries": entries,
        "events_per_entry": round(events / entries, 1),
        "batch_size": args.batch_size,
        "postgres": "external"
        if args.database_url
        else ("fast" if args.fast_postgres else "durable"),
        **figures,
        "python": sys.version.split()[0],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades", type=int, default=200_000)
    parser.add_argument("--events-per-entry", type=int, default=500)
    parser.add_argument(
        "--batch-size", type=int, default=DbprocSettings.model_fields["batch_size"].default
    )
    parser.add_argument(
        "--fast-postgres", action="store_true", help="fsync and synchronous_commit off"
    )
    parser.add_argument("--database-url", help="an empty database of an existing server")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cryptex-bench-") as directory:
        redis_server = RedisServer(Path(directory) / "redis")
        redis_server.start()
        try:
            result = run_with_postgres(args, redis_server.url)
        finally:
            redis_server.stop()
    print(json.dumps(result))
    if not result["valid"]:
        sys.exit(1)


def run_with_postgres(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    if args.database_url:
        return run(args, redis_url, args.database_url, None)
    with postgres_server(args.fast_postgres) as (database_url, pid):
        return run(args, redis_url, database_url, pid)


if __name__ == "__main__":
    main()
