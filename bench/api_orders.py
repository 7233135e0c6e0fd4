"""Order -> ack latency and throughput of ONE API process, end to end: figures, never assertions.

The benchmark starts the whole order path as real processes, the way the API's integration tests
do (tests/integration/api/conftest.py, with the same helpers from tests/): a `redis-server` (AOF
on, `appendfsync always` unless `--appendfsync everysec`), PostgreSQL 15 (accounts only: the
order path never touches it), the market registry from crds/examples, one engine process for
SOL_USDC (`python -m cryptex_engine`, default settings) and ONE API process (`python -m
cryptex_api`: uvicorn, uvloop, httptools), with the per-account order rate limit raised out of
the way (`CRYPTEX_ORDERS_PER_SECOND` 1e6). Every process is stopped by pid at the end, also on
error; their logs are kept (and named on stderr) only with `--keep-logs` or on error.

setup
    `--traders` accounts (default 50) sign up and sign in (`POST /api/v1/signup`, `/signin`), and
    the bootstrap admin funds each with 10,000,000 USDC and 100,000 SOL
    (`POST /api/v1/admin/deposits`): no order is ever short of funds. A short closed-loop
    warm-up (`--warmup` seconds, 32 clients) opens connections and fills the book; then one
    signed order of each trader's (the API reads and decrypts a key at its first use, once per
    process) and the same warm-up through the signed route, so neither route's figures carry
    a one-time cost.

orders
    Valid SOL_USDC limit orders around a mid of 150.00 USDC (15,000 ticks), each from a trader
    drawn at random (seeded): 80% passive GTC orders 1-50 ticks away from mid on their side
    (0.05-1 SOL), which rest; 20% crossing IOC orders 5 ticks through mid (0.05-2 SOL), which
    take from the resting ones and expire the rest. No cancels: the book grows by the passive
    orders that are not taken (tens of thousands over a default run).

open loop (`--rates`, default 500 and 1000 orders/s, each for `--seconds`, default 10)
    Request i is due at t0 + i/rate whatever happened to the ones before it; latency is measured
    from that scheduled time to the end of the `POST /api/v1/order` response (which the API
    sends once the engine's reply arrives), so any queueing shows: in the client's connection
    pool (`--connections`, default 256, HTTP/1.1 keep-alive), in the API, behind the engine.
    Reported: p50/p90/p99/max ms, the achieved rate (2xx responses per second of the phase:
    first due time to last response), errors by status (or exception name), the engine's
    outcomes (`status` of the answers) and the generator's own lag (how late it started a
    request after its due time: if that grows, the load generator is what is short of CPU).

max rate (closed loop)
    `--clients` (default 64) clients each send an order as soon as their previous answer
    arrives, for `--seconds`: orders per second (2xx answers over the phase's wall time) and
    the latency percentiles (send to answer). `--py-spy` samples the API process with py-spy
    (from the venv, 200 Hz, non-blocking) during this phase and the signed one, and prints
    for each where its event-loop thread's time goes, as shares of that thread's non-idle
    samples: own time by package and by function, and time including callees; the samples of
    worker threads (the thread pool that runs sync dependencies) are counted apart.
    `--keep-logs` keeps the raw profiles.

signed (closed loop through the Binance-compatible route)
    The same closed loop to `POST /api/v3/order`: each trader has an HMAC API key, each order
    is a form body signed by the load generator (as a client signs), answered FULL. Printed
    beside the native route's: the API's CPU milliseconds per order on both, and their ratio.

CPU: the machine has few CPUs (2 where this was written), and the load generator (this process,
one asyncio loop on uvloop) shares them with the API, the engine and Redis: every phase reports
the CPU seconds each used over it (utime + stime from /proc/<pid>/stat; PostgreSQL is its
postmaster plus live backends), the busy seconds of everything else (`others`: other work on
the machine, kernel threads), the machine's idle and steal seconds (/proc/stat) and the wall
seconds, so `wall x CPUs` is what there was to share. The load generator's own CPU is what a
separate load machine would not take from the API; `others` is what the run had to share with
work outside it, so compare runs whose `others` are near zero. The API's CPU milliseconds per
answered order are reported too: the figure other work on the machine disturbs least.

The load generator's HTTP client is `raw` by default: keep-alive HTTP/1.1 connections, each
request written as one byte string, answers parsed by httptools (the parser uvicorn uses). It
takes about half of aiohttp's CPU per request (0.15 against 0.3 ms at 1,000 orders/s), CPU that
the processes being measured would otherwise lose on this machine. `--client aiohttp` and
`--client httpx` are kept to compare; httpx is too slow to be a load generator here: about 2 ms
of CPU per request, 6 ms once requests queue for its pool, so it falls behind its own schedule.

Human lines go to stderr; the last line on stdout is one JSON object of every figure.

    python bench/api_orders.py [--traders 50] [--rates 500,1000] [--seconds 10] [--clients 64]
        [--connections 256] [--appendfsync always|everysec] [--client raw|aiohttp|httpx]
        [--warmup 2] [--py-spy] [--keep-logs] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import aiohttp
import httptools
import httpx
import uvloop
import yaml

from cryptex import registry
from cryptex.markets import MAX_MAX_OPEN_ORDERS, load_manifests

ROOT = Path(__file__).resolve().parents[1]
# The servers and the engine harness of the integration tests start the stack here the same way.
sys.path.insert(0, str(ROOT))
from tests.integration.engine.harness import EXAMPLES, EngineProcess  # noqa: E402
from tests.servers import PostgresServer, RedisServer, free_port  # noqa: E402

SYMBOL = "SOL_USDC"
SIGNED_PATH = "/api/v3/order"  # the Binance-compatible route
FORM = "application/x-www-form-urlencoded"
MID = 15_000  # ticks: 150.00 USDC (tick 0.01, lot 0.001 SOL)
FUNDING = {"USDC": "10000000", "SOL": "100000"}  # per trader
PASSWORD = "bench password 1234"
ADMIN_EMAIL = "admin@cryptex.bench"
ADMIN_PASSWORD = "admin password for the bench"
PASSIVE_SHARE = 0.8
TIMEOUT_S = 60.0  # per request: an overloaded phase shows as latency, not as errors
# Idle client connections are dropped after this, before uvicorn's keep-alive timeout (5 s) can
# close one under a request that reuses it.
IDLE_DROP_S = 4.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The headline figures of the JSON line; the rest follows them.
RATE_KEYS = ("target", "achieved", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors")
MAX_RATE_KEYS = ("clients", "orders_per_s", "p50_ms", "p99_ms")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ CPU accounting


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()  # fields from `state` on: the name may hold spaces


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread), in seconds."""
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK if fields else 0.0


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat(int(entry.name))
            if fields and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def machine_seconds() -> dict[str, float]:
    """The machine's busy, idle (with iowait) and steal time from /proc/stat (all CPUs)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return {
        "busy": (user + nice + system + irq + softirq) / CLK_TCK,
        "idle": (idle + iowait) / CLK_TCK,
        "steal": steal / CLK_TCK,
    }


class CpuMeter:
    """CPU seconds of each of the stack's processes between `start` and `stop`."""

    def __init__(self, pids: dict[str, int], postgres: int) -> None:
        self.pids = pids
        self.postgres = postgres
        self._started: dict[str, float] = {}
        self._wall = 0.0

    def _read(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["postgres"] = sum(cpu_seconds(p) for p in [self.postgres, *children(self.postgres)])
        return {**now, **machine_seconds()}

    def start(self) -> None:
        self._started = self._read()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        ended = self._read()
        used = {name: ended[name] - self._started[name] for name in ended}
        # Busy time outside the stack: other work on the machine, the kernel's own threads.
        ours = sum(used[name] for name in (*self.pids, "postgres"))
        used["others"] = max(0.0, used.pop("busy") - ours)
        return {**{name: round(value, 2) for name, value in used.items()}, "wall": round(wall, 2)}


def cpu_line(cpu: dict[str, float]) -> str:
    busy = ", ".join(
        f"{name} {cpu[name]:.2f}" for name in ("api", "engine", "redis", "postgres", "bench")
    )
    capacity = cpu["wall"] * (os.cpu_count() or 1)
    return (
        f"    cpu s: {busy}; others {cpu['others']:.2f}, idle {cpu['idle']:.2f}, steal "
        f"{cpu['steal']:.2f} "
        f"(of {capacity:.1f} CPU s: {cpu['wall']:.1f} s x {os.cpu_count()} CPUs)"
    )


# ------------------------------------------------------------------ HTTP clients


class Http(Protocol):
    async def post(
        self, path: str, body: bytes, token: str | None, api_key: str | None = None
    ) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


def _headers(token: str | None, api_key: str | None = None) -> dict[str, str]:
    """A bearer token's JSON request, or an API key's signed form (the Binance route)."""
    if api_key:
        return {"Content-Type": FORM, "X-MBX-APIKEY": api_key}
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class AiohttpClient:
    def __init__(self, base_url: str, connections: int) -> None:
        connector = aiohttp.TCPConnector(
            limit=connections, limit_per_host=connections, keepalive_timeout=IDLE_DROP_S
        )
        self._session = aiohttp.ClientSession(
            base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
        )

    async def post(
        self, path: str, body: bytes, token: str | None, api_key: str | None = None
    ) -> tuple[int, bytes]:
        headers = _headers(token, api_key)
        async with self._session.post(path, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self._session.close()


class HttpxClient:
    def __init__(self, base_url: str, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT_S)

    async def post(
        self, path: str, body: bytes, token: str | None, api_key: str | None = None
    ) -> tuple[int, bytes]:
        headers = _headers(token, api_key)
        response = await self._client.post(path, content=body, headers=headers)
        return response.status_code, response.content

    async def close(self) -> None:
        await self._client.aclose()


class _Exchange(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: a request written in one piece, its answer parsed by
    httptools (uvicorn's parser), one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.last_used = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"unparsable answer: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_result((self._parser.get_status_code(), b"".join(self._body)))
        self._body = []

    @property
    def usable(self) -> bool:
        return self.transport is not None and self._keep_alive

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(error)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._answer


class RawHttpClient:
    """Keep-alive connections, at most `connections`, each carrying one request at a time;
    when all are busy, requests wait in line and a freed connection goes to the first."""

    def __init__(self, base_url: str, connections: int) -> None:
        address = base_url.removeprefix("http://").rstrip("/")
        self._host, _, port = address.rpartition(":")
        self._port = int(port)
        self._authority = address.encode()
        self._idle: list[_Exchange] = []
        self._open = 0
        self._limit = connections
        # In line for a connection: each is handed one, or None (one may be opened instead).
        self._waiting: deque[asyncio.Future[_Exchange | None]] = deque()
        self._all: set[_Exchange] = set()

    async def _acquire(self) -> _Exchange:
        if not self._waiting:  # nobody in line: an idle connection, or a new one
            while self._idle:
                exchange = self._idle.pop()
                if exchange.usable and time.monotonic() - exchange.last_used < IDLE_DROP_S:
                    return exchange
                self._discard(exchange)
            if self._open < self._limit:
                return await self._connect()
        while True:
            handed: asyncio.Future[_Exchange | None] = asyncio.get_running_loop().create_future()
            self._waiting.append(handed)
            try:
                given = await handed
            except asyncio.CancelledError:
                if not handed.done():
                    self._waiting.remove(handed)
                elif not handed.cancelled():  # handed something, then cancelled: pass it on
                    passed = handed.result()
                    if passed is not None:
                        self._release(passed, reusable=True)
                    else:
                        self._hand(None)
                raise
            if given is not None:
                return given
            if self._open < self._limit:
                return await self._connect()

    async def _connect(self) -> _Exchange:
        self._open += 1
        try:
            _, exchange = await asyncio.get_running_loop().create_connection(
                _Exchange, self._host, self._port
            )
        except BaseException:
            self._open -= 1
            self._hand(None)  # the place it was to take is free again
            raise
        self._all.add(exchange)
        return exchange

    def _discard(self, exchange: _Exchange) -> None:
        exchange.close()
        self._all.discard(exchange)
        self._open -= 1

    def _release(self, exchange: _Exchange, reusable: bool) -> None:
        if reusable and exchange.usable:
            exchange.last_used = time.monotonic()
            if not self._hand(exchange):
                self._idle.append(exchange)
        else:
            self._discard(exchange)
            self._hand(None)

    def _hand(self, exchange: _Exchange | None) -> bool:
        """Give the first in line a connection (or, with None, the right to open one)."""
        while self._waiting:
            handed = self._waiting.popleft()
            if not handed.done():
                handed.set_result(exchange)
                return True
        return False

    async def post(
        self, path: str, body: bytes, token: str | None, api_key: str | None = None
    ) -> tuple[int, bytes]:
        head = [
            f"POST {path} HTTP/1.1".encode(), b"Host: " + self._authority,
            b"Content-Type: " + (FORM.encode() if api_key else b"application/json"),
            b"Content-Length: " + str(len(body)).encode(),
        ]  # fmt: skip
        if api_key:
            head.append(b"X-MBX-APIKEY: " + api_key.encode())
        elif token:
            head.append(b"Authorization: Bearer " + token.encode())
        raw = b"\r\n".join(head) + b"\r\n\r\n" + body
        async with asyncio.timeout(TIMEOUT_S):  # waiting for a connection included
            exchange = await self._acquire()
            reusable = False
            try:
                answer = await exchange.request(raw)
                reusable = True
                return answer
            finally:
                self._release(exchange, reusable)

    async def close(self) -> None:
        for exchange in list(self._all):
            exchange.close()
        self._all.clear()
        self._idle.clear()


CLIENTS: dict[str, Callable[[str, int], Http]] = {
    "raw": RawHttpClient,
    "aiohttp": AiohttpClient,
    "httpx": HttpxClient,
}


# ------------------------------------------------------------------ the stack


@dataclass
class Stack:
    """Redis, PostgreSQL, the registry, one engine, one API: started and stopped by pid."""

    appendfsync: str
    keep_logs: bool
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cryptex-bench-")))
    # Not under a root-only directory: PostgreSQL runs as the `postgres` user under root.
    pg_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cryptex-pg-")))
    redis: RedisServer | None = None
    postgres: PostgresServer | None = None
    engine: EngineProcess | None = None
    api: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        self.redis = RedisServer(self.logs / "redis", appendfsync=self.appendfsync)
        self.redis.start()
        self.postgres = PostgresServer(self.pg_dir)
        self.postgres.start()
        client = self.redis.client()
        for path in sorted(EXAMPLES.glob("*.yaml")):
            manifest = yaml.safe_load(path.read_text())
            # The per-account open-order limit is not measured: the passive orders of a run
            # rest by the thousand per trader.
            manifest["spec"]["maxOpenOrders"] = MAX_MAX_OPEN_ORDERS
            registry.register(client, manifest)
        client.close()
        market = load_manifests(EXAMPLES)[SYMBOL]
        # The engine's own defaults (trimming, lease), unlike the tests' harness settings.
        self.engine = EngineProcess(
            self.redis.url, market, self.logs, from_registry=True,
            trim_commands="true", lease_ttl_ms="10000",
        )  # fmt: skip
        self.engine.start()
        port = free_port()
        env = {
            **os.environ,
            "CRYPTEX_REDIS_URL": self.redis.url,
            "CRYPTEX_DATABASE_URL": self.postgres.url,
            "CRYPTEX_PORT": str(port),
            "CRYPTEX_JWT_SECRET": secrets.token_urlsafe(48),
            "CRYPTEX_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "CRYPTEX_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CRYPTEX_ORDERS_PER_SECOND": "1000000",  # the per-account limit is not measured
            "CRYPTEX_REQUEST_WEIGHT_PER_MINUTE": "1000000000",  # nor the Binance route's
            "CRYPTEX_LOGINS_PER_MINUTE": "1000000",
            "CRYPTEX_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_INSTANCE": f"api-bench-{uuid.uuid4().hex[:6]}",
        }
        api_log = self.logs / "api.log"
        with api_log.open("ab") as out:  # the child keeps its own descriptor
            self.api = subprocess.Popen(
                [sys.executable, "-m", "cryptex_api"], env=env, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        # generous: on a machine busy with other work the API has taken over a minute to start
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.api.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: {api_log.read_text()[-3000:]}")
            time.sleep(0.05)

    def pids(self) -> dict[str, int]:
        assert self.api is not None
        assert self.engine is not None
        assert self.engine.process is not None
        assert self.redis is not None
        assert self.redis.process is not None
        return {
            "api": self.api.pid,
            "engine": self.engine.process.pid,
            "redis": self.redis.process.pid,
            "bench": os.getpid(),
        }

    def stop(self, failed: bool) -> None:
        """Every process by pid, the API first; a failure to stop one does not skip the rest."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("api", self._stop_api),
            ("engine", lambda: self.engine.stop() if self.engine else None),
            ("redis", lambda: self.redis.stop() if self.redis else None),
            ("postgres", lambda: self.postgres.stop() if self.postgres else None),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:  # keep stopping the others
                log(f"stopping {name} failed: {error!r}")
                failed = True
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        if failed or self.keep_logs:
            log(f"logs kept in {self.logs}")
        else:
            shutil.rmtree(self.logs, ignore_errors=True)

    def _stop_api(self) -> None:
        if self.api is None:
            return
        self.api.send_signal(signal.SIGTERM)
        try:
            self.api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.api.kill()
            self.api.wait()
        self.api = None


# ------------------------------------------------------------------ traders and orders


@dataclass
class Trader:
    account: int
    token: str
    api_key: str = ""  # an HMAC key for the Binance route, and its secret
    secret: str = ""


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def setup_traders(http: Http, count: int) -> list[Trader]:
    """Sign up, sign in and fund `count` traders (argon2 makes sign-up and sign-in slow)."""
    status, body = await http.post(
        "/api/v1/signin", _json({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), None
    )
    if status != 200:
        raise RuntimeError(f"admin sign-in: {status} {body[:300]!r}")
    admin = json.loads(body)["token"]
    gate = asyncio.Semaphore(8)
    run = uuid.uuid4().hex[:8]

    async def one(index: int) -> Trader:
        credentials = _json({"email": f"trader-{index}-{run}@bench.example", "password": PASSWORD})
        async with gate:
            for path in ("/api/v1/signup", "/api/v1/signin"):
                status, body = await http.post(path, credentials, None)
                if status not in (200, 201):
                    raise RuntimeError(f"{path}: {status} {body[:300]!r}")
        trader = Trader(json.loads(body)["accountId"], json.loads(body)["token"])
        for asset, amount in FUNDING.items():
            transfer = {"account": trader.account, "asset": asset, "amount": amount,
                        "reference": f"bench-{run}-{index}-{asset}"}  # fmt: skip
            status, body = await http.post("/api/v1/admin/deposits", _json(transfer), admin)
            if status != 200:
                raise RuntimeError(f"deposit: {status} {body[:300]!r}")
        key = {"label": "bench", "permissions": ["read", "trade"], "type": "HMAC"}
        status, body = await http.post("/api/v1/apikeys", _json(key), trader.token)
        if status != 201:
            raise RuntimeError(f"API key: {status} {body[:300]!r}")
        trader.api_key, trader.secret = json.loads(body)["apiKey"], json.loads(body)["secret"]
        return trader

    return await asyncio.gather(*(one(index) for index in range(count)))


def _price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}"


def _quantity(lots: int) -> str:
    return f"{lots // 1000}.{lots % 1000:03d}"


def _order(rng: random.Random) -> tuple[bool, int, int, str]:
    """One order of the mix: 80% passive GTC 1-50 ticks from mid, 20% IOC 5 ticks through it.
    (buy, ticks, lots, time in force)"""
    buy = rng.random() < 0.5
    sign = 1 if buy else -1
    if rng.random() < PASSIVE_SHARE:
        return buy, MID - sign * rng.randint(1, 50), rng.randint(50, 1000), "GTC"
    return buy, MID + sign * 5, rng.randint(50, 2000), "IOC"


def order_body(rng: random.Random) -> bytes:
    """The native route's body (JSON) for one order of the mix."""
    buy, ticks, lots, tif = _order(rng)
    return _json({
        "side": "buy" if buy else "sell", "type": "limit", "price": _price(ticks),
        "quantity": _quantity(lots), "market": SYMBOL, "timeInForce": tif,
    })  # fmt: skip


def signed_order_body(rng: random.Random, secret: str) -> bytes:
    """The Binance route's body for one order of the mix: a form signed with HMAC-SHA256 (the
    load generator signs, as a client does; FULL is the answer a LIMIT order gets by default)."""
    buy, ticks, lots, tif = _order(rng)
    query = (
        f"symbol={SYMBOL.replace('_', '')}&side={'BUY' if buy else 'SELL'}&type=LIMIT"
        f"&timeInForce={tif}&quantity={_quantity(lots)}&price={_price(ticks)}"
        f"&newOrderRespType=FULL&timestamp={time.time_ns() // 1_000_000}"
    )
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}".encode()


# ------------------------------------------------------------------ measuring


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx answers only
    lags: list[float] = field(default_factory=list)  # open loop: start of a request - its due time
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # the first answer of each error
    outcomes: Counter[str] = field(default_factory=Counter)
    last_done: float = 0.0


async def send_order(
    http: Http, tally: Tally, trader: Trader, body: bytes, since: float, signed: bool = False
) -> None:
    """POST one order (to the Binance route if `signed`); its latency counts from `since`
    (due time, or send time)."""
    try:
        if signed:
            status, answer = await http.post(SIGNED_PATH, body, None, trader.api_key)
        else:
            status, answer = await http.post("/api/v1/order", body, trader.token)
    except (aiohttp.ClientError, httpx.HTTPError, TimeoutError, OSError) as error:
        tally.errors[type(error).__name__] += 1
        tally.samples.setdefault(type(error).__name__, str(error)[:200])
        tally.last_done = time.perf_counter()
        return
    done = time.perf_counter()
    tally.last_done = done
    if 200 <= status < 300:
        tally.latencies.append(done - since)
        tally.outcomes[json.loads(answer).get("status", "?")] += 1
    else:
        tally.errors[str(status)] += 1
        tally.samples.setdefault(str(status), answer[:200].decode(errors="replace"))


def log_errors(tally: Tally) -> None:
    for name, sample in sorted(tally.samples.items()):
        log(f"    {tally.errors[name]:,} x {name}, the first: {sample!r}")


def per_order_ms(cpu_s: float, tally: Tally) -> float | None:
    """CPU milliseconds per answered order (errors included: they cost CPU too)."""
    answered = len(tally.latencies) + sum(tally.errors.values())
    return round(cpu_s * 1000 / answered, 3) if answered else None


def pct_ms(seconds: Sequence[float], p: float) -> float | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 3)


def latency_figures(seconds: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50_ms": pct_ms(seconds, 50),
        "p90_ms": pct_ms(seconds, 90),
        "p99_ms": pct_ms(seconds, 99),
        "max_ms": round(max(seconds) * 1000, 3) if seconds else None,
    }


async def open_loop(
    http: Http, traders: Sequence[Trader], rng: random.Random, rate: float, seconds: float
) -> tuple[Tally, float]:
    """Request i is due at t0 + i/rate; returns the tally and the phase's wall seconds."""
    tally = Tally()
    count = round(rate * seconds)
    pending: set[asyncio.Task[None]] = set()

    async def due(trader: Trader, body: bytes, at: float) -> None:
        tally.lags.append(time.perf_counter() - at)
        await send_order(http, tally, trader, body, at)

    t0 = time.perf_counter() + 0.01
    try:
        for index in range(count):
            at = t0 + index / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(due(rng.choice(traders), order_body(rng), at))
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*list(pending))
    finally:
        for task in pending:  # interrupted: no request outlives the phase
            task.cancel()
    return tally, max(tally.last_done, t0 + count / rate) - t0


async def closed_loop(
    http: Http, traders: Sequence[Trader], seed: int, clients: int, seconds: float,
    signed: bool = False,
) -> tuple[Tally, float]:  # fmt: skip
    """`clients` loops of send-and-wait for `seconds`; latency from send to answer. `signed`:
    to the Binance route, `POST /api/v3/order`."""
    tally = Tally()
    started = time.perf_counter()
    stop_at = started + seconds

    async def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        while time.perf_counter() < stop_at:
            trader = rng.choice(traders)
            body = signed_order_body(rng, trader.secret) if signed else order_body(rng)
            await send_order(http, tally, trader, body, time.perf_counter(), signed)

    await asyncio.gather(*(client(index) for index in range(clients)))
    return tally, tally.last_done - started


# ------------------------------------------------------------------ py-spy


def py_spy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"  # installed in the venv
    return str(beside) if beside.exists() else shutil.which("py-spy")


_BOOTSTRAP = ("<frozen runpy>", "cryptex_api/__main__.py", "uvicorn/main.py", "uvicorn/server.py",
              "uvicorn/_compat.py", "asyncio/runners.py")  # fmt: skip
# A sample whose innermost Python frame is the loop's `run` is inside uvloop's C code: polling,
# socket reads and writes, callback dispatch (py-spy sees no Python frame above it).
_C_LOOP = "Runner.run (asyncio/runners.py)"


def _frame_name(frame: str) -> str:
    """`handle (/.../site-packages/starlette/routing.py:123)` -> `handle (starlette/routing.py)`."""
    name, _, where = frame.partition(" (")
    where = where.removesuffix(")")
    path = where.rpartition(":")[0] if where.rpartition(":")[2].isdigit() else where
    for marker in ("site-packages/", "/images/api/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.rpartition(marker)[2]
            break
    return f"{name} ({path})"


def _package(frame: str) -> str:
    """The package of a frame's file: `starlette`, `asyncio`, `threading`, ..."""
    if frame == _C_LOOP:
        return "uvloop (C: I/O, polling, dispatch)"
    path = frame.rpartition(" (")[2].removesuffix(")")
    head = path.split("/")[0]
    return head.removesuffix(".py") if head else path


def py_spy_report(raw_path: Path, top: int) -> dict[str, Any]:
    """Where the API's event-loop thread spends its samples: own time per function (innermost
    frame), time including callees, own time per package; worker threads (anyio's thread pool,
    argon2) are counted apart. Shares are of the event-loop thread's samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    workers: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";") if " (" in frame]
        if not frames:
            continue
        if any(frame.startswith("Thread._bootstrap ") for frame in frames):
            workers[frames[-1]] += count
            continue
        total += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for name in set(frames):
            if name.rpartition(" (")[2].removesuffix(")") not in _BOOTSTRAP:
                inclusive[name] += count
    if not total:
        return {"samples": 0}

    def shares(counter: Counter[str], limit: int = top) -> list[list[Any]]:
        return [[name, round(n / total, 4)] for name, n in counter.most_common(limit)]

    return {
        "samples": total,
        "worker_thread_samples": sum(workers.values()),
        "own": shares(own),
        "inclusive": shares(inclusive),
        "own_by_package": shares(packages, 15),
        "worker_threads_own": [[n, c] for n, c in workers.most_common(5)],
    }


async def start_profiler(
    args: argparse.Namespace, stack: Stack, phase: str
) -> subprocess.Popen[bytes] | None:
    """py-spy recording the API for the coming closed loop of `phase`, with `--py-spy`."""
    if not args.py_spy:
        return None
    binary = py_spy_binary()
    if binary is None:
        raise SystemExit("--py-spy: py-spy is not installed (.venv/bin/pip install py-spy)")
    profiler = subprocess.Popen(
        [binary, "record", "--pid", str(stack.pids()["api"]), "--format", "raw",
         "--output", str(stack.logs / f"api-py-spy-{phase}.txt"),
         "--duration", str(max(1, int(args.seconds))), "--rate", "200", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # py-spy attaches
    return profiler


async def finish_profile(
    profiler: subprocess.Popen[bytes] | None, args: argparse.Namespace, stack: Stack,
    phase: str, profiles: dict[str, Any],
) -> None:  # fmt: skip
    """Wait for the phase's py-spy and print where the API's time went (into `profiles`)."""
    if profiler is None:
        return
    await asyncio.to_thread(profiler.wait, args.seconds + 30)
    raw_profile = stack.logs / f"api-py-spy-{phase}.txt"
    if not raw_profile.exists():
        log("py-spy wrote no profile (ptrace not permitted?)")
        return
    report = py_spy_report(raw_profile, 25)
    profiles[phase] = report
    log(
        f"py-spy on the API during the {phase} closed loop: {report['samples']:,} samples of "
        f"the event-loop thread, {report.get('worker_thread_samples', 0):,} of worker "
        "threads (not counted in the shares)"
    )
    for title in ("own_by_package", "own", "inclusive"):
        log(f"  {title.replace('_', ' ')} (share of the event-loop thread's samples):")
        for name, share in report.get(title, []):
            log(f"    {share:7.1%}  {name}")
    for name, count in report.get("worker_threads_own", []):
        log(f"  worker threads: {count:,} samples in {name}")


# ------------------------------------------------------------------ main


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    http = CLIENTS[args.client](stack.url, args.connections)
    try:
        return await measure(args, stack, http)
    finally:
        await http.close()


async def measure(args: argparse.Namespace, stack: Stack, http: Http) -> dict[str, Any]:
    assert stack.postgres is not None
    assert stack.postgres.process is not None
    started = time.perf_counter()
    traders = await setup_traders(http, args.traders)
    log(
        f"setup: {len(traders)} traders signed up, signed in and funded with "
        f"{FUNDING['USDC']} USDC and {FUNDING['SOL']} SOL each "
        f"({time.perf_counter() - started:.1f} s)"
    )
    meter = CpuMeter(stack.pids(), stack.postgres.process.pid)
    rng = random.Random(args.seed)
    if args.warmup > 0:
        tally, wall = await closed_loop(http, traders, args.seed + 1, 32, args.warmup)
        log(
            f"warm-up: {len(tally.latencies):,} orders in {wall:.1f} s, p50 "
            f"{pct_ms(tally.latencies, 50)} ms, errors {dict(tally.errors)}"
        )
        first, first_rng = Tally(), random.Random(args.seed + 5)
        await asyncio.gather(*(
            send_order(http, first, trader, signed_order_body(first_rng, trader.secret),
                       time.perf_counter(), signed=True)
            for trader in traders
        ))  # fmt: skip
        tally, wall = await closed_loop(http, traders, args.seed + 4, 32, args.warmup, signed=True)
        log(
            f"signed warm-up: one order of each trader's, then {len(tally.latencies):,} orders "
            f"in {wall:.1f} s, p50 {pct_ms(tally.latencies, 50)} ms, errors "
            f"{dict(first.errors + tally.errors)}"
        )

    rates: list[dict[str, Any]] = []
    cpu: dict[str, dict[str, float]] = {}
    for rate in args.rates:
        await asyncio.sleep(0.5)  # let the previous phase's tail settle
        meter.start()
        tally, wall = await open_loop(http, traders, rng, rate, args.seconds)
        used = meter.stop()
        figures = {
            "target": int(rate) if rate.is_integer() else rate,
            "achieved": round(len(tally.latencies) / wall, 1),
            **latency_figures(tally.latencies),
            "errors": dict(tally.errors),
            "ok": len(tally.latencies),
            "outcomes": dict(sorted(tally.outcomes.items())),
            "api_cpu_ms_per_order": per_order_ms(used["api"], tally),
            "send_lag_p99_ms": pct_ms(tally.lags, 99),
            "send_lag_max_ms": round(max(tally.lags) * 1000, 3) if tally.lags else None,
        }
        rates.append(figures)
        cpu[f"rate_{rate:g}"] = used
        log(
            f"open loop {rate:g}/s for {args.seconds:g} s: achieved {figures['achieved']:,}/s; "
            f"latency p50 {figures['p50_ms']} p90 {figures['p90_ms']} p99 {figures['p99_ms']} "
            f"max {figures['max_ms']} ms; errors {figures['errors']}; outcomes "
            f"{figures['outcomes']}; generator lag p99 {figures['send_lag_p99_ms']} ms; API CPU "
            f"{figures['api_cpu_ms_per_order']} ms per order"
        )
        log(cpu_line(used))
        log_errors(tally)

    await asyncio.sleep(0.5)
    profiler = await start_profiler(args, stack, "native")
    meter.start()
    tally, wall = await closed_loop(http, traders, args.seed + 2, args.clients, args.seconds)
    used = meter.stop()
    cpu["max_rate"] = used
    max_rate = {
        "clients": args.clients,
        "orders_per_s": round(len(tally.latencies) / wall, 1),
        **latency_figures(tally.latencies),
        "errors": dict(tally.errors),
        "ok": len(tally.latencies),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "api_cpu_ms_per_order": per_order_ms(used["api"], tally),
    }
    log(
        f"closed loop, {args.clients} clients for {args.seconds:g} s: "
        f"{max_rate['orders_per_s']:,} orders/s; latency p50 {max_rate['p50_ms']} p90 "
        f"{max_rate['p90_ms']} p99 {max_rate['p99_ms']} max {max_rate['max_ms']} ms; errors "
        f"{max_rate['errors']}; API CPU {max_rate['api_cpu_ms_per_order']} ms per order"
    )
    log(cpu_line(used))
    log_errors(tally)

    profiles: dict[str, Any] = {}
    await finish_profile(profiler, args, stack, "native", profiles)

    # The same closed loop through the Binance route: signed form bodies, FULL answers.
    await asyncio.sleep(0.5)
    profiler = await start_profiler(args, stack, "signed")
    meter.start()
    tally, wall = await closed_loop(
        http, traders, args.seed + 3, args.clients, args.seconds, signed=True
    )
    used = meter.stop()
    cpu["signed_max_rate"] = used
    signed_rate = {
        "clients": args.clients,
        "orders_per_s": round(len(tally.latencies) / wall, 1),
        **latency_figures(tally.latencies),
        "errors": dict(tally.errors),
        "ok": len(tally.latencies),
        "outcomes": dict(sorted(tally.outcomes.items())),
        "api_cpu_ms_per_order": per_order_ms(used["api"], tally),
    }
    native_ms, signed_ms = max_rate["api_cpu_ms_per_order"], signed_rate["api_cpu_ms_per_order"]
    ratio = round(signed_ms / native_ms, 2) if native_ms and signed_ms else None
    log(
        f"closed loop through {SIGNED_PATH} (signed), {args.clients} clients for "
        f"{args.seconds:g} s: {signed_rate['orders_per_s']:,} orders/s; latency p50 "
        f"{signed_rate['p50_ms']} p99 {signed_rate['p99_ms']} ms; errors {signed_rate['errors']}; "
        f"API CPU {signed_ms} ms per order against {native_ms} native ({ratio}x)"
    )
    log(cpu_line(used))
    log_errors(tally)
    result: dict[str, Any] = {
        "rates": rates, "max_rate": max_rate, "cpu_s": cpu, "signed_max_rate": signed_rate,
        "signed_cpu_ratio": ratio,
    }  # fmt: skip
    await finish_profile(profiler, args, stack, "signed", profiles)
    if profiles:
        result["profiles"] = profiles
    return result


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traders", type=int, default=50)
    parser.add_argument(
        "--rates", default="500,1000", help="open-loop rates, orders/s, comma separated"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--clients", type=int, default=64, help="closed-loop clients")
    parser.add_argument("--connections", type=int, default=256, help="client pool size")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds; 0 skips it")
    parser.add_argument("--py-spy", action="store_true", help="profile the API (both closed loops)")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        args.rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    except ValueError:
        parser.error("--rates: comma-separated numbers, e.g. 500,1000")
    if (
        args.traders < 1 or args.clients < 1 or args.connections < 1 or args.seconds <= 0
        or any(rate <= 0 for rate in args.rates)
    ):  # fmt: skip
        parser.error("--traders, --clients, --connections, --seconds and --rates must be > 0")

    stack = Stack(args.appendfsync, args.keep_logs)
    failed = True
    # SIGTERM (and SIGINT, even where the shell started us with it ignored) unwinds through the
    # `finally` below, so the stack is stopped by pid either way.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    try:
        stack.start()
        log(
            f"stack up: redis (appendfsync {args.appendfsync}), postgres, engine {SYMBOL} "
            f"(pid {stack.pids()['engine']}), api (pid {stack.pids()['api']}) on "
            f"{os.cpu_count()} CPUs; client {args.client}, {args.connections} connections"
        )
        figures = uvloop.run(run(args, stack))
        failed = False
    except KeyboardInterrupt as stop:
        log(f"interrupted ({stop}): stopping the stack")
        raise SystemExit(130) from None
    finally:
        stack.stop(failed)
    result = {
        "benchmark": "api_orders",
        "rates": [{key: rate[key] for key in RATE_KEYS} for rate in figures["rates"]],
        "max_rate": {key: figures["max_rate"][key] for key in MAX_RATE_KEYS},
        # API CPU ms per order, native route and signed Binance route, and their ratio
        "api_cpu_ms_per_order": {
            "native": figures["max_rate"]["api_cpu_ms_per_order"],
            "signed_api_v3": figures["signed_max_rate"]["api_cpu_ms_per_order"],
            "ratio": figures["signed_cpu_ratio"],
        },
        "cpu_s": figures["cpu_s"],
        "appendfsync": args.appendfsync,
        # beyond the headline figures
        "cpus": os.cpu_count(),
        "client": args.client,
        "connections": args.connections,
        "traders": args.traders,
        "seconds": args.seconds,
        "python": sys.version.split()[0],
        "rates_detail": figures["rates"],
        "max_rate_detail": figures["max_rate"],
        "signed_max_rate_detail": figures["signed_max_rate"],
    }
    if "profiles" in figures:
        result["api_profiles"] = figures["profiles"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
