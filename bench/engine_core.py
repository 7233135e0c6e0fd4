"""Throughput and latency of the pure order book (no Redis): figures, never assertions.

Workloads, both seeded:
  mixed  N operations (default 1,000,000): 70% passive limits near mid, 20% cancels of live
         orders, 10% aggressive orders (IOC limits and market orders through the touch).
  seeds  200,000 GTC limit orders, price uniform in 1000 +/- 5 on a 0.1 tick, quantity 1-10,
         100 accounts (the workload of the project's seed repositories).

Commands are generated first (the generator peeks at a book to pick live orders to cancel), then
replayed into a fresh book twice: once untimed per operation for throughput, once with a timer
around each `apply` for the latency percentiles. Ends with one JSON line of every figure.

    python bench/engine_core.py [--ops 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence

from cryptex.wire import (
    CancelOrder,
    Command,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from cryptex_engine.book import OrderBook

MID = 100_000  # ticks


def mixed_workload(ops: int, seed: int) -> list[Command]:
    rng = random.Random(seed)
    book = OrderBook()
    live: list[int] = []  # candidate ids to cancel; filled ones are skipped when drawn
    commands: list[Command] = []
    mid = MID
    order_id = 0
    for ts in range(ops):
        draw = rng.random()
        if draw < 0.20 and live:
            # A cancel of an order that is still resting (swap-remove keeps the draw O(1)).
            while live:
                index = rng.randrange(len(live))
                live[index], live[-1] = live[-1], live[index]
                candidate = live.pop()
                resting = book.resting_order(candidate)
                if resting is not None:
                    command: Command = CancelOrder(candidate, resting.account, ts)
                    break
            else:
                continue
        else:
            order_id += 1
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            account = rng.randrange(1, 1001)
            if draw < 0.90:
                offset = rng.randint(1, 50)
                price = mid - offset if side is Side.BUY else mid + offset
                command = PlaceOrder(order_id, account, side, price, rng.randint(1, 10), ts)
                live.append(order_id)
            elif draw < 0.95:
                price = mid + 5 if side is Side.BUY else mid - 5
                command = PlaceOrder(
                    order_id,
                    account,
                    side,
                    price,
                    rng.randint(1, 30),
                    ts,
                    time_in_force=TimeInForce.IOC,
                )
            else:
                protection = mid + 25 if side is Side.BUY else mid - 25
                command = PlaceOrder(
                    order_id,
                    account,
                    side,
                    0,
                    rng.randint(1, 30),
                    ts,
                    order_type=OrderType.MARKET,
                    protection_price=protection,
                )
            mid += rng.choice((-1, 0, 0, 1)) if rng.random() < 0.01 else 0
        book.apply(command)
        commands.append(command)
    return commands


def seeds_workload(orders: int, seed: int) -> list[Command]:
    rng = random.Random(seed)
    return [
        PlaceOrder(
            order_id=order_id,
            account=rng.randrange(1, 101),
            side=Side.BUY if rng.random() < 0.5 else Side.SELL,
            price=rng.randint(9_950, 10_050),  # 1000 +/- 5 in ticks of 0.1
            quantity=rng.randint(1, 10),
            ts=order_id,
        )
        for order_id in range(1, orders + 1)
    ]


def run(name: str, commands: Sequence[Command]) -> dict[str, float]:
    gc.collect()
    book = OrderBook()
    apply = book.apply
    started = time.perf_counter()
    events = 0
    for command in commands:
        events += len(apply(command))
    elapsed = time.perf_counter() - started
    book.check_invariants()

    book = OrderBook()
    apply = book.apply
    clock = time.perf_counter_ns
    latencies = [0] * len(commands)
    for i, command in enumerate(commands):
        before = clock()
        apply(command)
        latencies[i] = clock() - before
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] / 1000

    figures = {
        "ops": len(commands),
        "events": events,
        "ops_per_s": round(len(commands) / elapsed),
        "p50_us": pct(50),
        "p99_us": pct(99),
        "p99_9_us": pct(99.9),
        "mean_us": round(statistics.fmean(latencies) / 1000, 3),
        "resting_orders": book.resting_orders,
    }
    print(
        f"{name:>6}: {figures['ops_per_s']:>9,} ops/s  p50 {figures['p50_us']:.2f} us  "
        f"p99 {figures['p99_us']:.2f} us  p99.9 {figures['p99_9_us']:.2f} us  "
        f"({len(commands):,} ops, {events:,} events, {book.resting_orders:,} resting)",
        file=sys.stderr,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--seeds-orders", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    mixed = mixed_workload(args.ops, args.seed)
    seeds = seeds_workload(args.seeds_orders, args.seed)
    result = {
        "benchmark": "engine_core",
        "python": sys.version.split()[0],
        "mixed": run("mixed", mixed),
        "seeds": run("seeds", seeds),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
