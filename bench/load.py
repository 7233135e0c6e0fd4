"""Simulated traders against a running stack (`make up`): figures, never assertions.

Unlike the other benchmarks this one starts nothing: it is a client of a stack that runs, by
default the one `make up` started (its URLs and admin token come from `.cryptex/stack.json`),
through the public REST and WebSocket APIs only.

setup
    `--traders` accounts (default 20) sign up and sign in, and the admin funds each with the
    market's quote and base assets (`POST /api/v1/admin/deposits`, a 401 with the saved token
    signs the admin in again with the saved password). Each trader opens a WebSocket connection,
    AUTHs and subscribes `orders@me`; one more connection subscribes `trades@M`.

load (`--seconds`, default 20)
    Each trader runs a closed loop: with 30% chance, or when it has 20 orders open, it cancels
    one of its open orders at random; else it places a limit order of random size on a random
    side: 70% passive (GTC, 1-20 ticks away from the mid on its own side), 30% crossing (IOC,
    5 ticks through the mid), which take from resting orders. The mid is the book's when the
    run starts (else its last trade, else `--mid`). Orders that trade or close leave the
    trader's list as `orders@me` reports them. A 429 waits `Retry-After`; it counts apart.

figures
    Placement and cancel latency (request sent -> response, ms), trade delivery (the taking
    order's request sent -> its trade on `trades@M`, matched by trade id) and private delivery
    (an IOC order's request sent -> its first `orders@me` update), each as p50/p90/p99/max;
    throughput as answered orders, cancels and this run's trades per second of the phase.
    The load generator shares the machine with the stack: its own CPU seconds are reported.
    At the end every trader's remaining orders are cancelled, so the book is left as found.

Every answer is kept too (`Answers`: each acknowledged order with its request and reply, each
cancel's outcome, each request that got no answer, by its `clientOrderId`): the chaos soak
(tests/e2e/chaos.py) runs these traders and checks the exchange against that record.

Pictures (matplotlib): the latency CDFs (log time axis) to `--plot` (default
`.cryptex/load-latency.png`), and, when the stack runs its Prometheus, the run's key series as
it recorded them (commands per second, order acknowledgement p50/p90/p99, engine stream lag,
WebSocket messages sent) to `--charts` (default `.cryptex/load-prometheus.png`). Human lines go
to stderr; the last line on stdout is one JSON object of every figure.

    python bench/load.py [--traders 20] [--seconds 20] [--market SOL_USDC] [--api URL]
        [--ws URL] [--admin-token TOKEN] [--stack-dir .cryptex] [--plot FILE] [--charts FILE]
        [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load test password"
TIMEOUT_S = 30.0
MAX_OPEN = 20  # orders a trader keeps open at most
CANCEL_SHARE, CROSSING_SHARE = 0.3, 0.3
FUNDING_NOTIONAL = Decimal(1_000_000)  # quote units per trader; base worth as much at the mid
QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the stack and the market


@dataclass
class Target:
    api: str
    ws: str
    admin_token: str
    admin_login: dict[str, str] | None  # to sign in again when the token has expired
    prometheus: str | None  # the stack's monitoring, when it runs
    interval_s: float  # its scrape interval


def find_target(args: argparse.Namespace) -> Target:
    state_path = args.stack_dir / "stack.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {}
    admin = state.get("admin", {})
    token = args.admin_token or admin.get("token")
    if not token:
        raise SystemExit(f"no admin token: pass --admin-token, or start a stack (no {state_path})")
    login = {"email": admin["email"], "password": admin["password"]} if "email" in admin else None
    return Target(
        api=(args.api or state.get("api") or "http://127.0.0.1:8000").rstrip("/"),
        ws=args.ws or state.get("ws") or "ws://127.0.0.1:8001/",
        admin_token=token, admin_login=None if args.admin_token else login,
        prometheus=(state.get("monitoring") or {}).get("prometheus"),
        interval_s=float((state.get("monitoring") or {}).get("interval_s", 5)),
    )  # fmt: skip


@dataclass
class Market:
    symbol: str
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    min_notional: Decimal

    def price(self, ticks: int) -> str:
        return str(self.tick * ticks)

    def quantity(self, lots: int) -> str:
        return str(self.lot * lots)


# ------------------------------------------------------------------ HTTP


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self, method: str, path: str, body: object = None, token: str | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method, self.base + path, json=body, headers=headers, params=params
        ) as response:
            raw = await response.read()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
            return response.status, payload, dict(response.headers)


async def admin_token(api: Api, target: Target) -> str:
    status, _, _ = await api.call("GET", "/api/v1/balances", token=target.admin_token)
    if status != 401 or target.admin_login is None:
        return target.admin_token
    status, reply, _ = await api.call("POST", "/api/v1/signin", target.admin_login)
    if status != 200:
        raise SystemExit(f"admin sign-in: {status} {reply}")
    return str(reply["token"])


async def load_market(api: Api, symbol: str) -> Market:
    status, markets, _ = await api.call("GET", "/api/v1/markets")
    if status != 200:
        raise SystemExit(f"GET /api/v1/markets: {status} {markets}")
    for m in markets:
        if m["symbol"] == symbol:
            return Market(
                m["symbol"], m["base"], m["quote"], Decimal(m["tickSize"]),
                Decimal(m["lotSize"]), Decimal(m["minQty"]), Decimal(m["minNotional"]),
            )  # fmt: skip
    raise SystemExit(f"{symbol} is not listed: {[m['symbol'] for m in markets]}")


async def find_mid(api: Api, market: Market, fallback: Decimal) -> int:
    """The mid in ticks: the book's, else the last trade's, else the fallback."""
    _, depth, _ = await api.call("GET", "/api/v1/depth", params={"symbol": market.symbol})
    if depth["bids"] and depth["asks"]:
        mid = (Decimal(depth["bids"][0][0]) + Decimal(depth["asks"][0][0])) / 2
    else:
        _, trades, _ = await api.call("GET", "/api/v1/trades", params={"symbol": market.symbol})
        mid = Decimal(trades[0]["price"]) if trades else fallback
    return int(mid / market.tick)


# ------------------------------------------------------------------ traders


@dataclass
class Answers:
    """What the exchange answered each trader: the record a checker compares the exchange with.
    Accounts first in each tuple; requests and replies as sent and received (JSON)."""

    placed: list[tuple[int, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    cancelled: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # 200s
    cancel_refused: list[tuple[int, int, int, Any]] = field(default_factory=list)  # 4xx
    # Places without an answer (a dropped connection, a 5xx): the order may or may not exist,
    # and is found by its clientOrderId.
    unanswered: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # places refused: "status code"


@dataclass
class Figures:
    place_ms: list[float] = field(default_factory=list)
    cancel_ms: list[float] = field(default_factory=list)
    sent_by_trade: dict[int, float] = field(default_factory=dict)  # trade id -> order sent
    trade_seen: dict[int, float] = field(default_factory=dict)  # trade id -> on trades@M
    sent_by_ioc: dict[int, float] = field(default_factory=dict)  # IOC order id -> sent
    update_seen: dict[int, float] = field(default_factory=dict)  # order id -> on orders@me
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    answers: Answers = field(default_factory=Answers)


@dataclass
class Trader:
    index: int
    account: int
    token: str
    rng: random.Random
    open: set[int] = field(default_factory=set)
    ws: ClientConnection | None = None


async def sign_up(api: Api, admin: str, market: Market, mid: int, index: int, run: str) -> Trader:
    credentials = {"email": f"load-{run}-{index}@example.com", "password": PASSWORD}
    for path in ("/api/v1/signup", "/api/v1/signin"):
        while True:
            status, reply, headers = await api.call("POST", path, credentials)
            if status != 429:
                break
            await asyncio.sleep(float(headers.get("Retry-After", "1")))
        if status not in (200, 201):
            raise SystemExit(f"{path}: {status} {reply}")
    trader = Trader(index, int(reply["accountId"]), str(reply["token"]), random.Random())
    base_amount = (FUNDING_NOTIONAL / (market.tick * mid)).quantize(market.lot)
    for asset, amount in ((market.quote, FUNDING_NOTIONAL), (market.base, base_amount)):
        transfer = {"account": trader.account, "asset": asset, "amount": str(amount),
                    "reference": f"load-{run}-{index}-{asset}"}  # fmt: skip
        status, reply, _ = await api.call("POST", "/api/v1/admin/deposits", transfer, admin)
        if status != 200:
            raise SystemExit(f"deposit: {status} {reply}")
    return trader


async def open_private(target: Target, trader: Trader, figures: Figures) -> asyncio.Task[None]:
    ws = await connect(target.ws, max_queue=None)
    await ws.send(json.dumps({"method": "AUTH", "params": [trader.token], "id": 1}))
    await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["orders@me"], "id": 2}))
    for _ in range(2):
        reply = json.loads(await ws.recv())
        if "error" in reply:
            raise SystemExit(f"WebSocket AUTH/SUBSCRIBE: {reply}")
    trader.ws = ws

    async def read() -> None:
        async for raw in ws:
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("stream") != "orders@me":
                continue
            update = message["data"]
            figures.update_seen.setdefault(update["orderId"], now)
            if update["status"] in ("FILLED", "CANCELED", "EXPIRED", "REJECTED"):
                trader.open.discard(update["orderId"])

    return asyncio.create_task(read())


async def open_public(target: Target, symbol: str, figures: Figures) -> ClientConnection:
    ws = await connect(target.ws, max_queue=None)
    await ws.send(json.dumps({"method": "SUBSCRIBE", "params": [f"trades@{symbol}"], "id": 1}))
    reply = json.loads(await ws.recv())
    if "error" in reply:
        raise SystemExit(f"WebSocket SUBSCRIBE: {reply}")
    return ws


async def read_trades(ws: ClientConnection, figures: Figures) -> None:
    async for raw in ws:
        now = time.perf_counter()
        message = json.loads(raw)
        if str(message.get("stream", "")).startswith("trades@"):
            figures.trade_seen.setdefault(message["data"]["id"], now)


def random_order(trader: Trader, market: Market, mid: int) -> dict[str, Any]:
    """A limit order as `load` describes, with a clientOrderId of its own (from the trader's
    seeded generator), by which it is found again if its answer is lost."""
    rng = trader.rng
    side = rng.choice(("buy", "sell"))
    sign = -1 if side == "buy" else 1  # passive prices sit on the order's own side of the mid
    crossing = rng.random() < CROSSING_SHARE
    ticks = mid - sign * 5 if crossing else mid + sign * rng.randint(1, 20)
    # Lots: at least the market's minimum quantity and notional, up to ten times as much.
    smallest = max(market.min_qty, market.min_notional * Decimal("1.2") / (market.tick * ticks))
    low = math.ceil(smallest / market.lot)
    return {"side": side, "type": "limit", "price": market.price(ticks),
            "quantity": market.quantity(rng.randint(low, 10 * low)), "market": market.symbol,
            "timeInForce": "IOC" if crossing else "GTC",
            "clientOrderId": f"load-{trader.account}-{rng.getrandbits(64):016x}"}  # fmt: skip


async def trade(
    api: Api, trader: Trader, market: Market, mid: int, until: float, figures: Figures
) -> None:
    answers = figures.answers
    while time.perf_counter() < until:
        rng = trader.rng
        cancel = trader.open and (len(trader.open) >= MAX_OPEN or rng.random() < CANCEL_SHARE)
        body: dict[str, Any] | None = None
        try:
            if cancel:
                order_id = rng.choice(sorted(trader.open))
                trader.open.discard(order_id)
                sent = time.perf_counter()
                status, reply, headers = await api.call(
                    "DELETE", f"/api/v1/order/{order_id}", token=trader.token
                )
                if status == 200:
                    figures.cancel_ms.append((time.perf_counter() - sent) * 1000)
                    figures.outcomes["cancelled"] += 1
                    answers.cancelled.append((trader.account, order_id, reply))
                elif status == 400:  # filled or expired before the cancel reached it
                    figures.outcomes["cancel_too_late"] += 1
                if 400 <= status < 500 and status != 429:
                    answers.cancel_refused.append((trader.account, order_id, status, reply))
            else:
                body = random_order(trader, market, mid)
                sent = time.perf_counter()
                status, reply, headers = await api.call("POST", "/api/v1/order", body, trader.token)
                if status == 200:
                    figures.place_ms.append((time.perf_counter() - sent) * 1000)
                    figures.outcomes[reply["status"]] += 1
                    answers.placed.append((trader.account, body, reply))
                    for fill in reply["fills"]:
                        figures.sent_by_trade[fill["tradeId"]] = sent
                    if body["timeInForce"] == "IOC":
                        figures.sent_by_ioc[reply["orderId"]] = sent
                    elif reply["status"] in ("NEW", "PARTIALLY_FILLED"):
                        trader.open.add(reply["orderId"])
                elif status >= 500:
                    answers.unanswered.append((trader.account, body, f"{status}"))
                else:
                    answers.refused[f"{status} {_code(reply)}"] += 1
            if status == 429:
                figures.rate_limited += 1
                await asyncio.sleep(float(headers.get("Retry-After", "1")))
            elif status not in (200, 400):
                figures.errors[f"{status}"] += 1
        except (aiohttp.ClientError, TimeoutError) as error:
            figures.errors[type(error).__name__] += 1
            if body is not None:
                answers.unanswered.append((trader.account, body, type(error).__name__))
            # The API may be gone (restarting): no tight loop of refused connections.
            await asyncio.sleep(0.1)


def _code(reply: Any) -> object:
    return reply.get("code") if isinstance(reply, dict) else None


async def cancel_remaining(api: Api, traders: Sequence[Trader]) -> int:
    cancelled = 0
    for trader in traders:
        _, orders, _ = await api.call("GET", "/api/v1/orders/open", token=trader.token)
        for order in orders or []:
            status, _, _ = await api.call(
                "DELETE", f"/api/v1/order/{order['orderId']}", token=trader.token
            )
            cancelled += status == 200
    return cancelled


# ------------------------------------------------------------------ figures


def quantiles(samples: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(samples)
    out: dict[str, float | None] = {}
    for name, q in QUANTILES:
        # nearest rank
        out[name] = round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2) if ordered else None
    return out


def delivery_ms(sent: dict[int, float], seen: dict[int, float]) -> list[float]:
    return [(seen[key] - sent[key]) * 1000 for key in sent if key in seen]


def line(name: str, figures: dict[str, float | None], count: int) -> str:
    parts = " ".join(f"{k} {v:.2f}" for k, v in figures.items() if v is not None)
    return f"  {name:<30} {parts or '(none)'} ms  (n={count})"


# ------------------------------------------------------------------ the pictures (matplotlib)

TAIL_NINES = 3  # the latency plot's top: 99.9%
_ORDER_BUCKETS = (
    'sum by (le) (rate(cryptex_api_request_seconds_bucket{{method="POST", '
    'route="/api/v1/order"}}[{w}]))'
)
# The key series of a run, from the stack's Prometheus: title -> {legend: query}. `{w}` is the
# rate window, a few scrape intervals.
PROMETHEUS_CHARTS = {
    "Commands per second (engines)": {
        "{type}": "sum by (type) (rate(cryptex_engine_commands_total[{w}]))",
    },
    "POST /api/v1/order latency (s)": {
        f"p{q * 100:g}": f"histogram_quantile({q}, {_ORDER_BUCKETS})" for q in (0.5, 0.9, 0.99)
    },
    "Engine stream lag (commands)": {"{market}": "max by (market) (cryptex_engine_stream_lag)"},
    "WebSocket messages sent per second": {
        "sent": "sum(rate(cryptex_ws_messages_sent_total[{w}]))",
    },
}


def plot(path: Path, series: dict[str, list[float]], title: str) -> None:
    """Latency CDFs: share of samples at or below a latency (ms, log axis), on an axis of
    nines so that the tail shows (0, 90, 99 and 99.9% equally far apart)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.2), layout="constrained")
    for name, values in series.items():
        ordered = sorted(v for v in values if v > 0)
        if not ordered:
            continue
        nines = [
            min(TAIL_NINES, -math.log10(max(1.0 - (i + 1) / len(ordered), 10**-TAIL_NINES)))
            for i in range(len(ordered))
        ]
        axes.plot(ordered, nines, label=f"{name} (n={len(values)})")
    axes.set_xscale("log")
    axes.set_yticks(range(TAIL_NINES + 1), ["0%", "90%", "99%", "99.9%"])
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("share of samples at or below")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left")
    axes.set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


async def prometheus_charts(
    http: aiohttp.ClientSession, prometheus: str, interval_s: float, span: tuple[float, float],
    path: Path, title: str,
) -> None:  # fmt: skip
    """The run's key series as Prometheus recorded them, one panel each, from `span` (unix
    seconds) with a margin of a few scrapes on each side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = f"{max(4 * interval_s, 15):g}s"
    start, end = span[0] - 3 * interval_s, span[1] + 3 * interval_s
    figure, grid = plt.subplots(2, 2, figsize=(12, 7), layout="constrained", sharex=True)
    for axes, (chart, queries) in zip(grid.flat, PROMETHEUS_CHARTS.items(), strict=True):
        for legend, query in queries.items():
            params = {"query": query.format(w=window), "start": str(start), "end": str(end),
                      "step": f"{interval_s:g}s"}  # fmt: skip
            async with http.get(f"{prometheus}/api/v1/query_range", params=params) as answer:
                body = await answer.json()
            if body.get("status") != "success":
                raise SystemExit(f"Prometheus refused {query}: {body}")
            for result in body["data"]["result"]:
                times = [float(t) - span[0] for t, _ in result["values"]]
                values = [float(v) for _, v in result["values"]]
                axes.plot(times, values, label=legend.format(**result["metric"]))
        axes.set_title(chart)
        axes.grid(True, alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper left", fontsize="small")
    for axes in grid[1]:
        axes.set_xlabel("seconds since the load started")
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ------------------------------------------------------------------ main


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = find_target(args)
    connector = aiohttp.TCPConnector(limit=4 * args.traders, keepalive_timeout=4.0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        api = Api(session, target.api)
        admin = await admin_token(api, target)
        market = await load_market(api, args.market)
        mid = await find_mid(api, market, Decimal(args.mid))
        run_id = uuid.uuid4().hex[:8]
        log(f"{target.api}, {target.ws}: {market.symbol} around {market.price(mid)}")
        gate = asyncio.Semaphore(4)  # sign-up and sign-in hash passwords (argon2): slow

        async def one(index: int) -> Trader:
            async with gate:
                return await sign_up(api, admin, market, mid, index, run_id)

        traders = list(await asyncio.gather(*(one(i) for i in range(args.traders))))
        for trader in traders:
            trader.rng.seed(args.seed * 1_000 + trader.index)
        figures = Figures()
        readers = [await open_private(target, t, figures) for t in traders]
        public = await open_public(target, market.symbol, figures)
        readers.append(asyncio.create_task(read_trades(public, figures)))
        log(f"{len(traders)} traders signed up, funded and connected; trading {args.seconds}s")

        cpu, started, began = time.process_time(), time.perf_counter(), time.time()
        until = started + args.seconds
        await asyncio.gather(*(trade(api, t, market, mid, until, figures) for t in traders))
        wall = time.perf_counter() - started
        finished = time.time()
        cpu = time.process_time() - cpu
        await asyncio.sleep(1.0)  # the last trades and updates in flight over WebSocket
        for ws in [public, *(t.ws for t in traders if t.ws)]:
            await ws.close()
        for reader in readers:
            reader.cancel()
        cancelled = await cancel_remaining(api, traders)

    trade_ms = delivery_ms(figures.sent_by_trade, figures.trade_seen)
    update_ms = delivery_ms(figures.sent_by_ioc, figures.update_seen)
    series = {"order ack": figures.place_ms, "cancel ack": figures.cancel_ms,
              "trade on ws (public)": trade_ms, "ioc update on ws (own)": update_ms}  # fmt: skip
    result: dict[str, Any] = {
        "benchmark": "load",
        "traders": args.traders,
        "seconds": round(wall, 2),
        "market": market.symbol,
        "orders_per_s": round(len(figures.place_ms) / wall, 1),
        "cancels_per_s": round(len(figures.cancel_ms) / wall, 1),
        "trades_per_s": round(len(figures.sent_by_trade) / wall, 1),
    }
    for key, values in (("place", figures.place_ms), ("cancel", figures.cancel_ms),
                        ("trade_ws", trade_ms), ("update_ws", update_ms)):  # fmt: skip
        result.update({f"{key}_{q}_ms": v for q, v in quantiles(values).items()})
    result.update(
        orders=len(figures.place_ms), cancels=len(figures.cancel_ms),
        trades=len(figures.sent_by_trade), trades_not_seen_on_ws=len(
            [t for t in figures.sent_by_trade if t not in figures.trade_seen]),
        outcomes=dict(figures.outcomes), errors=dict(figures.errors),
        rate_limited=figures.rate_limited, load_generator_cpu_s=round(cpu, 2),
        cpus=os.cpu_count(), left_open_cancelled=cancelled, plot=str(args.plot),
    )  # fmt: skip
    log(
        f"{result['orders']} orders ({result['orders_per_s']}/s), {result['cancels']} cancels "
        f"({result['cancels_per_s']}/s), {result['trades']} trades ({result['trades_per_s']}/s) "
        f"in {wall:.1f}s; load generator CPU {cpu:.1f}s of {wall * (os.cpu_count() or 1):.0f}"
    )
    for name, values in series.items():
        log(line(name, quantiles(values), len(values)))
    if figures.errors or figures.rate_limited:
        log(f"  errors {dict(figures.errors)}, rate limited {figures.rate_limited}")
    title = f"{args.traders} TRADERS {market.symbol.replace('_', '/')}: {args.seconds:g} S"
    plot(args.plot, series, title)
    log(f"plot: {args.plot}")
    if target.prometheus is None:
        log("no Prometheus in the stack (--no-monitoring): no charts of its series")
    else:
        # Its last scrapes of the run: one interval and a margin.
        await asyncio.sleep(2 * target.interval_s)
        async with aiohttp.ClientSession() as http:
            await prometheus_charts(
                http, target.prometheus, target.interval_s, (began, finished), args.charts,
                title,
            )  # fmt: skip
        log(f"charts from Prometheus: {args.charts}")
        result["charts"] = str(args.charts)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--traders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--market", default="SOL_USDC")
    parser.add_argument("--mid", default="150", help="price when the book and trades are empty")
    parser.add_argument("--api", help="REST base URL (default: the stack's, else :8000)")
    parser.add_argument("--ws", help="WebSocket URL (default: the stack's, else :8001)")
    parser.add_argument("--admin-token", help="default: the stack's, from its stack.json")
    parser.add_argument("--stack-dir", type=Path, default=ROOT / ".cryptex")
    parser.add_argument("--plot", type=Path, help="PNG (default: <stack dir>/load-latency.png)")
    parser.add_argument(
        "--charts", type=Path, help="PNG (default: <stack dir>/load-prometheus.png)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.traders < 1 or args.seconds <= 0:
        parser.error("--traders and --seconds must be > 0")
    args.plot = args.plot or args.stack_dir / "load-latency.png"
    args.charts = args.charts or args.stack_dir / "load-prometheus.png"
    result = uvloop.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
