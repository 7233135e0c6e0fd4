"""Throughput and recovery of one market's engine on a real Redis: figures, never assertions.

The benchmark starts its own `redis-server` (a free loopback port, a temp dir, AOF on with
`appendfsync always` unless `--appendfsync everysec`, no RDB) and stops it by pid at the end,
also on error. The market is SOL_USDC as crds/examples/sol-usdc.yaml defines it, around a mid
price of 150.00 USDC (15,000 ticks); quantities are 0.05-1 SOL (2 SOL for crossing orders),
above the minimum quantity and notional. Both workloads are seeded.

settle
    `--accounts` accounts (default 200) are funded with plenty of USDC and SOL; then `--orders`
    commands (default 100,000) go through the ledger scripts one call each (`Ledger.place`,
    `Ledger.request_cancel`: a place returns its outcome, so nothing is pipelined), from one
    thread or `--loaders` threads (each owning the accounts `account % loaders`, so an order is
    always placed before its cancel): 70% passive GTC limits 1-50 ticks from mid, 20% cancels of
    placed orders that a shadow book says still rest, 10% crossing orders (half IOC limits 5
    ticks through mid, half GTC limits 2 ticks through it). The load rate counts every script
    call, places and cancels, per second of wall time.
    With the stream fully loaded, an in-process `Engine` (batch size `--batch-size`, commands
    never trimmed, no snapshot during the run) drains it: `run_once()` in a loop until its
    applied id is the stream's last id. Reported: commands settled per second, the time of each
    `run_once` that settled entries (batch latency), and the time of each settle-script call
    (`Ledger.settle`, timed by a closure wrapped around it on the engine's instance), p50 and
    p99; and where the drain's wall time went (reading the stream, settling, the rest: the book,
    settlement and encoding in Python). `--profile` runs the drain under cProfile and prints
    its top functions. The ledger audit must hold afterwards, or the run is invalid: exit 1.

recovery
    Redis is flushed. A book of `--resting` (default 1,000,000; 0 skips this part) resting
    orders is built in-process, without Redis (PlaceOrder commands applied to an `OrderBook`:
    bids 1-3,000 ticks below mid, asks above, so nothing crosses), with the `OrderFunds` of each
    order, and SET as the market's `EngineSnapshot` at the synthetic stream id 1-0. Then
    `--replay` more commands (default 10,000, the settle mix, continuing that book) are appended
    to the command stream (created with its consumer group) and `applied` is set to the last of
    them, as if they were settled. `Engine.start()` (lease, fencing token, snapshot load, replay
    of the settled commands: state only) is timed, split into the snapshot part (GET, decode,
    book and funds restore: from `_restore` being called to its first XRANGE) and the replay
    (the rest of `_restore`). The ledger holds no balances or order records for these orders,
    so no audit is made of this part.

Human lines go to stderr; the last line on stdout is one JSON object of every figure.

    python bench/engine_service.py [--orders 100000] [--resting 1000000] [--replay 10000]
        [--loaders 1] [--batch-size 4096] [--appendfsync always|everysec] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import redis
from prometheus_client import CollectorRegistry

from cryptex import keys
from cryptex.ledger import Ledger
from cryptex.markets import MarketSpec, load_manifest
from cryptex.settings import EngineSettings
from cryptex.wire import (
    CancelOrder,
    Command,
    EngineSnapshot,
    OrderFunds,
    PlaceOrder,
    Side,
    TimeInForce,
    decode_engine_snapshot,
    encode,
)
from cryptex_engine.book import OrderBook

# The benchmarks start their servers the way the tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers import RedisServer

from cryptex_engine.service import Engine, EngineMetrics

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "crds" / "examples" / "sol-usdc.yaml"
MID = 15_000  # ticks: 150.00 USDC
FIRST_TS = 1_700_000_000_000  # epoch ms of the first command; each next one is 1 ms later
SNAPSHOT_ID = "1-0"  # the recovery snapshot's synthetic stream id, before any real entry
FUNDING = {"USDC": "1000000", "SOL": "10000"}  # per account
T = TypeVar("T")


# ------------------------------------------------------------------ redis-server


@contextmanager
def redis_server(appendfsync: str) -> Iterator[int]:
    """A redis-server with AOF on, in a temp dir, as the tests start it; yields its port."""
    with tempfile.TemporaryDirectory(prefix="cryptex-bench-") as directory:
        server = RedisServer(Path(directory), appendfsync=appendfsync)
        server.start()
        try:
            yield server.port
        finally:
            server.stop()


def connect(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port)


# ------------------------------------------------------------------ workloads


def funded_place(
    market: MarketSpec,
    order_id: int,
    account: int,
    side: Side,
    price: int,
    quantity: int,
    ts: int,
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> PlaceOrder:
    """A limit order with the lock and fees the ledger would give it."""
    is_buy = side is Side.BUY
    locked = market.buy_lock(price, quantity) if is_buy else market.sell_lock(quantity)
    return PlaceOrder(
        order_id, account, side, price, quantity, ts,
        time_in_force=time_in_force, locked=locked,
        maker_fee_bps=market.maker_fee_bps, taker_fee_bps=market.taker_fee_bps,
    )  # fmt: skip


def pick_cancel(rng: random.Random, book: OrderBook, live: list[int], ts: int) -> Command | None:
    """A cancel of a random order still resting (swap-remove keeps the draw O(1))."""
    while live:
        index = rng.randrange(len(live))
        live[index], live[-1] = live[-1], live[index]
        candidate = live.pop()
        resting = book.resting_order(candidate)
        if resting is not None:
            return CancelOrder(candidate, resting.account, ts)
    return None


def mixed_commands(
    rng: random.Random,
    market: MarketSpec,
    book: OrderBook,
    live: list[int],
    count: int,
    first_order_id: int,
    accounts: int,
    first_ts: int,
) -> list[Command]:
    """`count` commands of the settle mix, applied to `book` (a shadow of the engine's) as they
    are drawn; `live` holds candidate order ids to cancel and grows with the GTC orders."""
    commands: list[Command] = []
    order_id = first_order_id
    for ts in range(first_ts, first_ts + count):
        draw = rng.random()
        command = pick_cancel(rng, book, live, ts) if draw < 0.20 else None
        if command is None:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            sign = 1 if side is Side.BUY else -1
            account = rng.randint(1, accounts)
            if draw < 0.90:
                price, quantity = MID - sign * rng.randint(1, 50), rng.randint(50, 1000)
                command = funded_place(market, order_id, account, side, price, quantity, ts)
                live.append(order_id)
            elif draw < 0.95:
                price, quantity = MID + sign * 5, rng.randint(50, 2000)
                command = funded_place(
                    market, order_id, account, side, price, quantity, ts, TimeInForce.IOC
                )
            else:
                price, quantity = MID + sign * 2, rng.randint(50, 2000)
                command = funded_place(market, order_id, account, side, price, quantity, ts)
                live.append(order_id)
            market.check_order(price, quantity)
            order_id += 1
        book.apply(command)
        commands.append(command)
    return commands


# ------------------------------------------------------------------ measuring


def pct_ms(seconds: Sequence[float], p: float) -> float | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 3)


def timed(target: Callable[..., T], into: list[float]) -> Callable[..., T]:
    """`target`, appending the wall time of each call to `into`."""

    def call(*args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            return target(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    return call


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def new_engine(
    client: redis.Redis, market: MarketSpec, batch_size: int, registry: CollectorRegistry
) -> Engine:
    settings = EngineSettings(
        market=market.symbol,
        instance="bench",
        batch_size=batch_size,
        trim_commands=False,
        snapshot_interval_s=3600,
    )
    return Engine(client, market, settings, EngineMetrics(registry))


def last_stream_id(client: redis.Redis, stream: str) -> str:
    newest = cast(list[tuple[bytes, Any]], client.xrevrange(stream, count=1))
    return newest[0][0].decode() if newest else ""


# ------------------------------------------------------------------ settle


def load(
    port: int, market: MarketSpec, commands: Sequence[Command], loaders: int
) -> tuple[float, Counter[str]]:
    """Send every command through the ledger scripts; (seconds, outcome counts)."""
    parts: list[list[Command]] = [[] for _ in range(loaders)]
    for command in commands:
        parts[cast(PlaceOrder | CancelOrder, command).account % loaders].append(command)
    client = connect(port)
    ledger = Ledger(client)

    def send(part: list[Command]) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for command in part:
            if type(command) is PlaceOrder:
                outcomes[ledger.place(market, command).outcome.name] += 1
            else:
                cancel = cast(CancelOrder, command)
                result = ledger.request_cancel(cancel.order_id, cancel.account, cancel.ts)
                outcomes["CANCEL_" + (result.reason or "ACCEPTED")] += 1
        return outcomes

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=loaders) as pool:
        results = [future.result() for future in [pool.submit(send, p) for p in parts]]
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, sum(results, Counter())


def settle_benchmark(port: int, market: MarketSpec, args: argparse.Namespace) -> dict[str, Any]:
    client = connect(port)
    ledger = Ledger(client)
    for account in range(1, args.accounts + 1):
        for asset, amount in FUNDING.items():
            spec = market.base if asset == market.base.symbol else market.quote
            ledger.deposit(
                account, asset, spec.to_units(amount), f"fund-{account}-{asset}", FIRST_TS
            )

    rng = random.Random(args.seed)
    first_id = ledger.allocate_order_ids(args.orders).start
    shadow = OrderBook(market.trading_state)
    commands = mixed_commands(
        rng, market, shadow, [], args.orders, first_id, args.accounts, FIRST_TS
    )
    cancels = sum(type(c) is CancelOrder for c in commands)
    log(
        f"settle: {len(commands):,} commands ({len(commands) - cancels:,} places, {cancels:,} "
        f"cancels), {args.accounts} accounts, shadow book ends with {shadow.resting_orders:,} "
        "resting"
    )
    del shadow

    load_s, outcomes = load(port, market, commands, args.loaders)
    stream = keys.commands(market.symbol)
    last_id = last_stream_id(client, stream)
    queued = int(client.xlen(stream))
    log(
        f"  load: {len(commands) / load_s:>9,.0f} script calls/s ({load_s:.1f} s, "
        f"{args.loaders} thread(s)); {dict(sorted(outcomes.items()))}; {queued:,} queued"
    )
    loaded = len(commands)
    del commands
    gc.collect()

    registry = CollectorRegistry()
    engine = new_engine(connect(port), market, args.batch_size, registry)
    engine.start()
    settle_s: list[float] = []
    read_s: list[float] = []
    engine.ledger.settle = timed(engine.ledger.settle, settle_s)  # type: ignore[method-assign]
    engine.redis.xreadgroup = timed(engine.redis.xreadgroup, read_s)  # type: ignore[method-assign]
    batch_s: list[float] = []
    settled = idle = 0
    profiler = cProfile.Profile() if args.profile else None
    client.config_resetstat()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    while engine.applied != last_id:
        before = time.perf_counter()
        count = engine.run_once()
        if count:
            batch_s.append(time.perf_counter() - before)
            settled += count
            idle = 0
        else:
            idle += 1
            if idle > 50:
                raise SystemExit(f"the engine stopped short of {last_id} at {engine.applied}")
    if profiler is not None:
        profiler.disable()
    drain_s = time.perf_counter() - started

    events = {
        name: int(
            registry.get_sample_value(
                "cryptex_engine_events_total", {"market": market.symbol, "type": name}
            )
            or 0
        )
        for name in ("TradeExecuted", "OrderCancelled", "CancelRejected", "OrderExpired")
    }
    log(
        f" drain: {settled / drain_s:>9,.0f} commands/s ({settled:,} in {drain_s:.2f} s, "
        f"{len(batch_s):,} batches of up to {args.batch_size}); batch p50 "
        f"{pct_ms(batch_s, 50)} ms p99 {pct_ms(batch_s, 99)} ms; settle p50 "
        f"{pct_ms(settle_s, 50)} ms p99 {pct_ms(settle_s, 99)} ms"
    )
    in_read, in_settle = sum(read_s), sum(settle_s)
    log(
        f"        wall time: {in_read / drain_s:.0%} reading the stream, {in_settle / drain_s:.0%} "
        f"in the settle script call, {1 - (in_read + in_settle) / drain_s:.0%} the rest "
        f"(book, settlement, encoding); events {events}; {engine.book.resting_orders:,} resting"
    )
    # Time inside Redis per command (execution only: an fsync happens after, before replies).
    stats = cast(dict[str, dict[str, float]], client.info("commandstats"))
    redis_ms = {
        name: round(stats.get(f"cmdstat_{name}", {}).get("usec_per_call", 0) / 1000, 3)
        for name in ("evalsha", "xreadgroup")
    }
    log(
        f"        inside redis per call: settle script {redis_ms['evalsha']} ms, xreadgroup "
        f"{redis_ms['xreadgroup']} ms (AOF fsync and transfer not included)"
    )
    if profiler is not None:
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(25)
        log(report.getvalue())

    audit = engine.ledger.audit()
    for asset in sorted(audit.totals):
        log(
            f" audit: {asset}: deposits {audit.totals[asset]:,} units, accounts hold "
            f"{audit.held.get(asset, 0):,}"
        )
    if not audit.ok:
        for problem in audit.problems[:20]:
            log(f" audit: {problem}")
        raise SystemExit(
            f"INVALID: the ledger audit failed after the drain ({len(audit.problems)} problems)"
        )
    log(" audit: ok (conservation, no negative balance, locks equal open orders' funds)")
    return {
        "orders": loaded,
        "load_places_per_s": round(loaded / load_s),
        "drain_commands_per_s": round(settled / drain_s),
        "batch_ms_p50": pct_ms(batch_s, 50),
        "batch_ms_p99": pct_ms(batch_s, 99),
        "settle_ms_p50": pct_ms(settle_s, 50),
        "settle_ms_p99": pct_ms(settle_s, 99),
        "load_s": round(load_s, 2),
        "drain_s": round(drain_s, 3),
        "drained": settled,
        "batches": len(batch_s),
        "trades": events["TradeExecuted"],
        "drain_read_share": round(in_read / drain_s, 3),
        "drain_settle_share": round(in_settle / drain_s, 3),
        "redis_settle_exec_ms": redis_ms["evalsha"],
        "redis_xreadgroup_exec_ms": redis_ms["xreadgroup"],
    }


# ------------------------------------------------------------------ recovery


def recovery_benchmark(port: int, market: MarketSpec, args: argparse.Namespace) -> dict[str, Any]:
    client = connect(port)
    client.flushall()
    rng = random.Random(args.seed + 1)
    started = time.perf_counter()
    book = OrderBook(market.trading_state)
    apply = book.apply
    funds: list[OrderFunds] = []
    maker_bps, taker_bps = market.maker_fee_bps, market.taker_fee_bps
    for order_id in range(1, args.resting + 1):
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randint(1, 3000)
        price = MID - offset if side is Side.BUY else MID + offset
        account = rng.randint(1, args.accounts)
        command = funded_place(
            market, order_id, account, side, price, rng.randint(50, 1000), FIRST_TS + order_id
        )
        apply(command)
        funds.append(
            OrderFunds(order_id, account, side, command.locked, 0, 0, maker_bps, taker_bps)
        )
    raw = encode(EngineSnapshot(SNAPSHOT_ID, book.snapshot(), funds))
    del funds
    build_s = time.perf_counter() - started
    replay = mixed_commands(
        rng, market, book, list(range(1, args.resting + 1)), args.replay, args.resting + 1,
        args.accounts, FIRST_TS + args.resting + 1,
    )  # fmt: skip
    expected_resting = book.resting_orders
    del book, apply

    stream = keys.commands(market.symbol)
    seeding = Ledger(client)  # stored as an engine stores it, under a token of its own
    seeding.store_snapshot(market.symbol, seeding.take_fence(market.symbol), raw, SNAPSHOT_ID)
    client.xgroup_create(stream, keys.COMMANDS_GROUP, id="0", mkstream=True)
    applied = SNAPSHOT_ID
    for chunk in range(0, len(replay), 1000):
        pipe = client.pipeline(transaction=False)
        for queued in replay[chunk : chunk + 1000]:
            pipe.xadd(stream, {keys.COMMAND_FIELD: encode(queued)})
        applied = cast(list[bytes], pipe.execute())[-1].decode()
    client.set(keys.applied(market.symbol), applied)
    client.xgroup_setid(stream, keys.COMMANDS_GROUP, applied)  # delivered and settled
    log(
        f"recovery: snapshot of {args.resting:,} resting orders built in {build_s:.1f} s "
        f"({len(raw) / 2**20:.1f} MiB), then {len(replay):,} settled commands up to {applied}"
    )
    decode_started = time.perf_counter()
    decode_engine_snapshot(raw)
    decode_s = time.perf_counter() - decode_started
    snapshot_mib = round(len(raw) / 2**20, 1)
    del raw, replay
    gc.collect()

    engine = new_engine(connect(port), market, args.batch_size, CollectorRegistry())
    marks: dict[str, float] = {}
    restore = engine._restore
    xrange = engine.redis.xrange

    def timed_restore() -> None:
        marks["restore"] = time.perf_counter()
        restore()
        marks["restored"] = time.perf_counter()

    def timed_xrange(*a: Any, **kw: Any) -> Any:
        marks.setdefault("replay", time.perf_counter())
        return xrange(*a, **kw)

    engine._restore = timed_restore  # type: ignore[method-assign]
    engine.redis.xrange = timed_xrange  # type: ignore[method-assign]
    started = time.perf_counter()
    engine.start()
    recovery_s = time.perf_counter() - started
    replay_from = marks.get("replay", marks["restored"])
    snapshot_s, replay_s = replay_from - marks["restore"], marks["restored"] - replay_from
    log(
        f"  start: {recovery_s:.2f} s = snapshot load {snapshot_s:.2f} s (decode alone "
        f"{decode_s:.2f} s) + replay {replay_s:.2f} s + lease and fence "
        f"{recovery_s - snapshot_s - replay_s:.3f} s; applied {engine.applied}, "
        f"{engine.book.resting_orders:,} resting (expected {expected_resting:,}), "
        f"{len(engine.settlement.funds):,} open orders' funds"
    )
    return {
        "recovery_s": round(recovery_s, 3),
        "recovery_snapshot_s": round(snapshot_s, 3),
        "recovery_replay_s": round(replay_s, 3),
        "recovery_decode_s": round(decode_s, 3),
        "snapshot_mib": snapshot_mib,
    }


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000, help="commands to load and drain")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--loaders", type=int, default=1, help="loader threads")
    parser.add_argument(
        "--batch-size", type=int, default=EngineSettings.model_fields["batch_size"].default
    )
    parser.add_argument("--resting", type=int, default=1_000_000, help="0 skips recovery")
    parser.add_argument("--replay", type=int, default=10_000)
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the drain")
    args = parser.parse_args()
    if args.orders < 1 or args.accounts < 1 or args.loaders < 1 or args.replay < 0:
        parser.error("--orders, --accounts and --loaders must be positive, --replay >= 0")

    market = load_manifest(MANIFEST)
    with redis_server(args.appendfsync) as port:
        figures = settle_benchmark(port, market, args)
        recovery: dict[str, Any] = dict.fromkeys(
            ("recovery_s", "recovery_snapshot_s", "recovery_replay_s")
        )
        if args.resting > 0:
            recovery = recovery_benchmark(port, market, args)
        persistence = connect(port).info("persistence")
    result = {
        "benchmark": "engine_service",
        "orders": figures.pop("orders"),
        "load_places_per_s": figures.pop("load_places_per_s"),
        "drain_commands_per_s": figures.pop("drain_commands_per_s"),
        "batch_ms_p50": figures.pop("batch_ms_p50"),
        "batch_ms_p99": figures.pop("batch_ms_p99"),
        "settle_ms_p50": figures.pop("settle_ms_p50"),
        "settle_ms_p99": figures.pop("settle_ms_p99"),
        "recovery_s": recovery.pop("recovery_s"),
        "recovery_snapshot_s": recovery.pop("recovery_snapshot_s"),
        "recovery_replay_s": recovery.pop("recovery_replay_s"),
        "resting_orders": args.resting,
        "replayed": args.replay if args.resting > 0 else 0,
        "appendfsync": args.appendfsync,
        "peak_rss_mib": peak_rss_mib(),
        # beyond the headline figures
        "python": sys.version.split()[0],
        "accounts": args.accounts,
        "loaders": args.loaders,
        "batch_size": args.batch_size,
        **figures,
        **recovery,
        "aof_rewrites": persistence.get("aof_rewrites"),
    }
    log(f"peak RSS {result['peak_rss_mib']} MiB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
