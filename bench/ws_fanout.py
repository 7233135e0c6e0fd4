"""Fan-out of the WebSocket server: deliveries per second and publish -> client latency, with
`--subscribers` clients (default 1,000) on one market: figures, never assertions.

The benchmark starts its own `redis-server` (a free loopback port, a temp dir, no persistence),
lists SOL_USDC in the registry (crds/examples/sol-usdc.yaml), and starts the server as its own
process (`python -m cryptex_ws`, uvloop, default settings except the ports), stopping both by
pid at the end, also on error. Clients run in `--client-procs` separate processes (default 2),
so that the server's process does nothing but serve: on a 2-core machine the clients, Redis and
the publisher share the CPUs with it. Each client is a minimal WebSocket client on uvloop (an
asyncio protocol that parses frame headers and decodes only the trade messages' JSON), so that
clients cost as little as possible; each subscribes `trades@SOL_USDC` and `depth@SOL_USDC`
in one SUBSCRIBE and waits for the acknowledgement and the depth snapshot.

The publisher (this process) then PUBLISHes to the market's channels directly, `--rate` times a
second (default 50) for `--warmup` + `--seconds`: each tick one trades message (a msgpack
list of one `PublicTrade`) and one depth diff (a `DepthDiff` of 3 levels a side, update ids
consecutive), in one pipeline, as the engine's settle script publishes a batch. The one liberty
taken with the engine's payloads: a trade's `ts` carries the publish time in epoch
*microseconds* (the engine's are ms), which the server relays untouched as `time`, so each
client measures publish -> receive latency for every trade message it gets. Deliveries count
every message (trades and depth) received by every client within the measured window; the
offered load is 2 x rate x subscribers (100,000 a second by default). The CPU time of the
server, the client processes, Redis and the publisher over the window come from /proc, the
server's rounds of writes (flushes) from its metrics. `--py-spy FILE` records the server with
py-spy over the window (collapsed stacks: one line per stack, then its sample count).

Human lines go to stderr; the last line on stdout is one JSON object of every figure.

    python bench/ws_fanout.py [--subscribers 1000] [--rate 50] [--seconds 10] [--warmup 2]
        [--client-procs 2] [--linger-ms 0] [--py-spy stacks.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import redis
import uvloop
import yaml

from cryptex import keys, registry
from cryptex.wire import DepthDiff, PriceLevel, PublicTrade, Side, encode

# The benchmarks start their servers the way the tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "crds" / "examples" / "sol-usdc.yaml"
SYMBOL = "SOL_USDC"
STREAMS = [f"trades@{SYMBOL}", f"depth@{SYMBOL}"]
MID = 15_000  # ticks: 150.00 USDC
TRADE_PREFIX = f'{{"stream":"trades@{SYMBOL}"'.encode()


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes


@contextmanager
def ws_server(
    directory: Path, redis_port: int, linger_ms: float
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "CRYPTEX_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CRYPTEX_PORT": str(port),
        "CRYPTEX_METRICS_HOST": "127.0.0.1",
        "CRYPTEX_METRICS_PORT": str(metrics_port),
        "CRYPTEX_DEV_MODE": "true",  # no JWT secret: the benchmark has no private streams
        "CRYPTEX_LOG_LEVEL": "WARNING",
        "CRYPTEX_MAX_FLUSH_LINGER_MS": str(linger_ms),
    }
    with (directory / "ws.log").open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "cryptex_ws"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{metrics_port}/healthz", timeout=1
                ) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {(directory / 'ws.log').read_text()}")
            time.sleep(0.05)
        yield process, port, metrics_port
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape(metrics_port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


# ------------------------------------------------------------------ clients (child processes)


class Tally:
    def __init__(self) -> None:
        self.window = (float("inf"), float("inf"))  # wall-clock seconds: counted within it
        self.delivered = 0
        self.latencies_us: list[int] = []
        self.closed = 0
        self.ready = 0


class _TradeData(msgspec.Struct):
    time: int


class _TradeMessage(msgspec.Struct):
    data: _TradeData


_trade_message = msgspec.json.Decoder(_TradeMessage).decode


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask)."""
    mask = secrets.token_bytes(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    repeated = (mask * (length // 4 + 1))[:length]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return header + mask + body


class BenchClient(asyncio.Protocol):
    """The least a WebSocket client can do: handshake, subscribe, parse frame headers, answer
    pings, decode the JSON of trade messages only."""

    def __init__(self, tally: Tally, port: int, subscribed: asyncio.Future[None]) -> None:
        self.tally = tally
        self.port = port
        self.subscribed = subscribed
        self.buffer = b""
        self.upgraded = False
        self.replies = 0  # the acknowledgement, then the depth snapshot
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.transport.write(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            head, found, rest = buffer.partition(b"\r\n\r\n")
            if not found:
                self.buffer = buffer
                return
            if not head.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(head.decode())
            self.upgraded = True
            request = {"method": "SUBSCRIBE", "params": STREAMS, "id": 1}
            assert self.transport is not None
            self.transport.write(_masked(0x1, json.dumps(request).encode()))
            buffer = rest
        tally, now = self.tally, time.time()
        counting = tally.window[0] <= now < tally.window[1]
        at, size = 0, len(buffer)
        while size - at >= 2:
            opcode, length = buffer[at] & 0x0F, buffer[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                if size - at < 4:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 4], "big")
                start = at + 4
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
                start = at + 10
            end = start + length
            if end > size:
                break
            if opcode == 0x1:
                if self.replies < 2:
                    self.replies += 1
                    if self.replies == 2:
                        self.subscribed.set_result(None)
                elif counting:
                    tally.delivered += 1
                    if buffer.startswith(TRADE_PREFIX, start):
                        sent = _trade_message(buffer[start:end]).data.time
                        tally.latencies_us.append(int(now * 1_000_000) - sent)
            elif opcode == 0x9:  # ping
                assert self.transport is not None
                self.transport.write(_masked(0xA, buffer[start:end]))
            elif opcode == 0x8:
                tally.closed += 1
            at = end
        self.buffer = buffer[at:]


async def run_clients(port: int, count: int) -> None:
    """One client process: `count` subscribers; reports on stdout when subscribed, waits for the
    measured window on stdin, reports its figures as one JSON line after it."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    transports = []
    waiting = []
    for _ in range(count):
        subscribed: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda future=subscribed: BenchClient(tally, port, future),  # type: ignore[misc]
            "127.0.0.1", port,
        )  # fmt: skip
        transports.append(transport)
        waiting.append(subscribed)
    await asyncio.wait_for(asyncio.gather(*waiting), timeout=60)
    print("ready", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    start, end = (float(part) for part in line.split())
    tally.window = (start, end)
    await asyncio.sleep(max(0.0, end - time.time()) + 1.0)  # and what is still in flight
    for transport in transports:
        transport.abort()
    print(json.dumps({
        "delivered": tally.delivered, "latencies_us": tally.latencies_us, "closed": tally.closed,
    }), flush=True)  # fmt: skip


# ------------------------------------------------------------------ publisher


class Publisher:
    """Ticks of one trades message and one depth diff, `rate` a second."""

    def __init__(self, client: redis.Redis, rate: float) -> None:
        self.client = client
        self.interval = 1 / rate
        self.update_id, self.trade_id, self.ticks = 1, 1, 0
        self.next_at = time.perf_counter()

    def run(self, until: float) -> None:
        trades_channel, depth_channel = keys.trades_channel(SYMBOL), keys.depth_channel(SYMBOL)
        while time.time() < until:
            offset = self.ticks % 7
            diff = DepthDiff(
                first_update_id=self.update_id, last_update_id=self.update_id + 2,
                bids=[PriceLevel(MID - 1 - i - offset, 1_000 * (i + 1)) for i in range(3)],
                asks=[PriceLevel(MID + 1 + i + offset, 1_500 * (i + 1)) for i in range(3)],
            )  # fmt: skip
            with self.client.pipeline(transaction=False) as pipe:
                sent_us = time.time_ns() // 1_000
                trade = PublicTrade(self.trade_id, MID + offset, 250, Side.BUY, sent_us)
                pipe.publish(trades_channel, encode([trade]))
                pipe.publish(depth_channel, encode(diff))
                pipe.execute()
            self.update_id += 3
            self.trade_id += 1
            self.ticks += 1
            self.next_at += self.interval
            delay = self.next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


# ------------------------------------------------------------------ main


def percentile(values: list[int], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(p / 100 * len(values)))] / 1000  # ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=50.0, help="ticks a second (2 messages each)")
    parser.add_argument("--seconds", type=float, default=10, help="the measured window")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--linger-ms", type=float, default=0, help="the server's CRYPTEX_MAX_FLUSH_LINGER_MS"
    )
    parser.add_argument("--py-spy", type=Path, help="record the server into this file")
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)  # a client process's port
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is not None:
        uvloop.run(run_clients(args.client, args.count))
        return
    if args.subscribers < 1 or args.rate <= 0 or args.seconds <= 0 or args.client_procs < 1:
        parser.error("--subscribers, --rate, --seconds and --client-procs must be positive")

    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cryptex-ws-")))
        redis_server = RedisServer(directory / "redis", appendonly=False)  # fan-out only
        redis_server.start()
        stack.callback(redis_server.stop)
        assert redis_server.process is not None
        redis_port, redis_pid = redis_server.port, redis_server.process.pid
        client = redis.Redis(port=redis_port)
        registry.register(client, yaml.safe_load(MANIFEST.read_text()))
        server, port, metrics_port = stack.enter_context(
            ws_server(directory, redis_port, args.linger_ms)
        )
        shares = [
            args.subscribers // args.client_procs + (i < args.subscribers % args.client_procs)
            for i in range(args.client_procs)
        ]
        clients: list[subprocess.Popen[str]] = []
        for share in shares:
            child = subprocess.Popen(
                [sys.executable, __file__, "--client", str(port), "--count", str(share)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            stack.callback(stop, child)
            clients.append(child)
        for child in clients:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise SystemExit("a client process failed to subscribe")
        log(f"{args.subscribers} subscribers on {', '.join(STREAMS)} in {len(clients)} processes")

        start = time.time() + args.warmup
        end = start + args.seconds
        for child in clients:
            stdin: IO[str] | None = child.stdin
            assert stdin is not None
            stdin.write(f"{start} {end}\n")
            stdin.flush()
        publisher = Publisher(client, args.rate)
        publisher.run(until=start)  # warm-up
        spy = None
        if args.py_spy is not None:
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(server.pid), "--format", "raw", "--output",
                 str(args.py_spy), "--duration", str(int(args.seconds)), "--rate", "200",
                 "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        pids = {"server": [server.pid], "clients": [c.pid for c in clients], "redis": [redis_pid]}
        cpu_before = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
        own_before = time.process_time()
        flushes_before = scrape(metrics_port, "cryptex_ws_flush_seconds_count")
        flush_s_before = scrape(metrics_port, "cryptex_ws_flush_seconds_sum")
        publisher.run(until=end)
        cpu = {
            name: sum(map(cpu_seconds, group)) - cpu_before[name] for name, group in pids.items()
        }
        cpu["publisher"] = time.process_time() - own_before
        flushes = scrape(metrics_port, "cryptex_ws_flush_seconds_count") - flushes_before
        flush_s = scrape(metrics_port, "cryptex_ws_flush_seconds_sum") - flush_s_before
        dropped = scrape(metrics_port, 'cryptex_ws_disconnects_total{reason="slow_consumer"}')
        results = []
        for child in clients:
            out, _ = child.communicate(timeout=60)
            results.append(json.loads(out.strip().splitlines()[-1]))
        if spy is not None:
            spy.wait(timeout=60)
        client.close()

    delivered = sum(r["delivered"] for r in results)
    latencies = sorted(value for r in results for value in r["latencies_us"])
    window = args.seconds
    result = {
        "benchmark": "ws_fanout",
        "subscribers": args.subscribers,
        "streams": STREAMS,
        "rate_ticks_per_s": args.rate,
        "offered_deliveries_per_s": round(2 * args.rate * args.subscribers),
        "deliveries_per_s": round(delivered / window),
        "latency_ms_p50": round(percentile(latencies, 50), 3),
        "latency_ms_p99": round(percentile(latencies, 99), 3),
        "latency_ms_max": round(latencies[-1] / 1000, 3) if latencies else None,
        "cpu_percent": {name: round(100 * seconds / window, 1) for name, seconds in cpu.items()},
        "server_flushes_per_s": round(flushes / window),
        "server_flush_ms_mean": round(1000 * flush_s / flushes, 2) if flushes else None,
        "dropped_slow": int(dropped),
        "closed_seen_by_clients": sum(r["closed"] for r in results),
        "client_procs": args.client_procs,
        "max_flush_linger_ms": args.linger_ms,
        "seconds": window,
        "ticks": publisher.ticks,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    log(
        f"{result['deliveries_per_s']:,} deliveries/s "
        f"(offered {result['offered_deliveries_per_s']:,})"
        f"  latency p50 {result['latency_ms_p50']} ms  p99 {result['latency_ms_p99']} ms"
        f"  CPU % {result['cpu_percent']}  dropped {result['dropped_slow']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
