"""The whole-stack chaos soak: the stack of `make up` with its market maker, `bench/load.py`'s
traders (REST orders and cancels) and WebSocket watchers (trades and depth), while every few
seconds a randomly chosen process of the stack gets SIGKILL and is started again as it was
(`tests.e2e.monitoring.kill`/`revive`: its own command line, environment and log, back in the
stack's pid file), the way Kubernetes restarts a container that died. One seed draws the kills,
their timing and the traders' orders, so a failure replays with the same sequence.

Every answer is recorded on the way: the traders' (`load.Answers`), the watchers' trade ids,
depth update ids and books, and every event batch the engines settle (read from the event
streams as they are written, before the DB processor trims them). Once the stack is quiet,
`check` compares the exchange with that record; each check names what it found lost or wrong.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, cast

import aiohttp
import asyncpg
import msgspec
import redis.asyncio
from redis.exceptions import RedisError
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from bench import load
from cryptex import keys
from cryptex.klines import INTERVALS_MS
from cryptex.wire import Event, OrderStatus, TradeExecuted
from tests.e2e import monitoring
from tests.e2e.harness import ROOT, StackRun

MARKETS: Final = ("SOL_USDC", "BTC_USDC")  # traded, half of the traders each
MANIFESTS: Final = ("sol-usdc.yaml", "btc-usdc.yaml")
MM_PRICES: Final = {"SOL_USDC": Decimal(150), "BTC_USDC": Decimal(60000)}
QUIET_TIMEOUT_S: Final = 180.0
READY_TIMEOUT_S: Final = 180.0  # for a restarted Redis or PostgreSQL to answer
# A depth diff or trade id missed while the WebSocket server had lost Redis is forgiven if a
# fresh depth snapshot (the server's "resynchronise") follows within this many seconds.
RESYNC_WINDOW_S: Final = 15.0
OPEN: Final = frozenset(status.value for status in OrderStatus if status.is_open)
TRY_AGAIN: Final = -1000  # the WebSocket server's "market data unavailable; try again"
DEPTH_LEVELS: Final = 100  # levels a side that GET /api/v1/depth gives at most
_events: Final = msgspec.msgpack.Decoder(list[Event])
Level = tuple[str, Decimal]  # a depth level: side ("bids" or "asks"), price
# XREAD's answer: [(stream, [(entry id, fields), ...]), ...]
StreamReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Soak:
    seed: int
    seconds: float
    traders: int = 8
    watchers: int = 2
    kill_every_s: tuple[float, float] = (3.0, 8.0)  # drawn between, from the seed


# ------------------------------------------------------------------ kills


@dataclass
class Chaos:
    """SIGKILLs one process at a time, drawn from the seed, and starts it again at once."""

    run: StackRun
    rng: random.Random
    every_s: tuple[float, float]
    kills: Counter[str] = field(default_factory=Counter)
    restart_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    revived: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def names(self) -> list[str]:
        records = json.loads((self.run.data / "pids").read_text())
        return sorted(r["name"] for r in records if r["name"] != "stack")

    async def loop(self, until: float) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.rng.uniform(*self.every_s))
            if time.monotonic() >= until:
                return
            name = self.rng.choice(self.names())
            say(f"  {_clock(time.time())} (+{time.monotonic() - started:.0f}s) SIGKILL {name}")
            await asyncio.to_thread(self.kill_and_restart, name)

    def kill_and_restart(self, name: str) -> None:
        died = dead(self.run)
        if died:  # by itself: a crash the soak found, not one it caused
            raise AssertionError("exited by themselves:\n" + "\n".join(died))
        killed = monitoring.kill(self.run, name)
        began = time.monotonic()
        self.kills[name] += 1
        # Reaped at once when it was one this soak started: PostgreSQL refuses to start while
        # the pid in its lock file exists, and an unreaped child's does.
        self.reap()
        for attempt in range(60):
            popen = monitoring.revive(self.run, killed)
            self.revived.append(popen)
            if self.ready(name, popen):
                break
            # PostgreSQL refuses to start while the killed server's backends still hold its
            # shared memory; they leave within moments.
            say(f"  {name} exited at start (attempt {attempt + 1}): again")
            time.sleep(0.5)
        else:
            raise AssertionError(f"{name} never came back: see {killed.record['log']}")
        self.restart_s[name].append(time.monotonic() - began)

    def reap(self) -> None:
        for popen in self.revived:
            popen.poll()

    def ready(self, name: str, popen: subprocess.Popen[bytes]) -> bool:
        """Up once it answers (revive waited for the health check of those that have one;
        Redis and PostgreSQL are asked); False if it exited. A server that neither answers
        nor exits (a crash recovery on a loaded machine) is waited for, never doubled."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                return False
            if name == "redis":
                done = subprocess.run(
                    ["redis-cli", "-u", self.run.state["redis"], "PING"],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.stdout.strip() == "PONG":
                    return True
            elif name == "postgres":
                if asyncio.run(_postgres_answers(self.run.state["database"])):
                    return True
            else:
                return True
            time.sleep(0.2)
        raise AssertionError(f"{name} runs but does not answer after {READY_TIMEOUT_S:.0f}s")


def dead(run: StackRun, *, besides: Sequence[str] = ()) -> list[str]:
    """The stack's processes that are not running, each with the end of its log."""
    records = json.loads((run.data / "pids").read_text())
    return [
        f"{r['name']} (pid {r['pid']}):\n{_tail(r['log'])}"
        for r in records
        if r["name"] not in ("stack", *besides) and not monitoring.running(r)
    ]


def _tail(path: str, lines: int = 8) -> str:
    text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"      | {line[:300]}" for line in text)


async def _postgres_answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


# ------------------------------------------------------------------ the event streams


@dataclass
class Tail:
    """Every event batch the engines settle, read from the event streams as they are written
    (the DB processor trims what it has committed), and the trades in them."""

    redis_url: str
    markets: Sequence[str]
    trades: dict[tuple[str, int], TradeExecuted] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)  # stream -> last entry id read
    gaps: list[str] = field(default_factory=list)  # trade ids that skipped (read too late)
    newest: dict[str, int] = field(default_factory=dict)  # market -> its highest trade id read

    async def follow(self, stop: asyncio.Event) -> None:
        client = redis.asyncio.Redis.from_url(self.redis_url)
        streams = {keys.events(m): m for m in self.markets}
        self.last = {s: self.last.get(s, "0-0") for s in streams}
        try:
            while not stop.is_set():
                try:
                    read = cast(StreamReply, await client.xread(
                        dict(self.last),  # type: ignore[arg-type]
                        count=500, block=500,
                    ))  # fmt: skip
                except (RedisError, OSError):
                    await asyncio.sleep(0.2)  # Redis restarting
                    continue
                for stream, entries in read:
                    name = stream.decode()
                    for entry_id, fields in entries:
                        self.last[name] = entry_id.decode()
                        self.add(streams[name], entry_id.decode(), fields)
        finally:
            await client.aclose()

    def add(self, market: str, entry_id: str, fields: dict[bytes, bytes]) -> None:
        for event in _events.decode(fields[keys.EVENTS_FIELD.encode()]):
            if type(event) is not TradeExecuted:
                continue
            key = (market, event.trade_id)
            if key in self.trades:
                self.duplicates.append(f"{market} trade {event.trade_id} again in {entry_id}")
                continue
            previous = self.newest.get(market)
            if previous is not None and event.trade_id != previous + 1:
                self.gaps.append(f"{market} trade {previous} then {event.trade_id}")
            self.trades[key] = event
            self.newest[market] = max(event.trade_id, previous or 0)

    async def caught_up(self, client: redis.asyncio.Redis) -> bool:
        for stream in self.last:
            newest = cast(list[tuple[bytes, Any]], await client.xrevrange(stream, count=1))
            if newest and newest[0][0].decode() != self.last[stream]:
                return False
        return True


# ------------------------------------------------------------------ WebSocket watchers


@dataclass
class Session:
    """One connection of a watcher, from connect to close."""

    watcher: int
    number: int
    trades: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    resyncs: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    breaks: list[tuple[str, float, str]] = field(default_factory=list)  # market, when, what
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = field(default_factory=dict)
    last_update: dict[str, int] = field(default_factory=dict)  # market -> last u applied
    synced: set[str] = field(default_factory=set)
    buffered: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    connected: bool = True
    ended: float | None = None
    errors: list[str] = field(default_factory=list)  # error messages but "try again"

    @property
    def name(self) -> str:
        return f"watcher {self.watcher} connection {self.number}"

    def on_depth(self, market: str, data: dict[str, Any], now: float) -> None:
        """The README's way to keep a book: updates are buffered until a snapshot, those it
        already holds dropped, the first applied straddles it, each next one follows on."""
        if data["e"] == "depthSnapshot":
            if market in self.books:
                self.resyncs[market].append(now)
            self.books[market] = {
                side: {Decimal(p): Decimal(q) for p, q in data[side]} for side in ("bids", "asks")
            }
            self.last_update[market] = int(data["lastUpdateId"])
            self.synced.add(market)
            for update in self.buffered.pop(market, []):
                self._apply(market, update, now)
        elif market in self.synced:
            self._apply(market, data, now)
        else:  # before the snapshot, or after a break until the next one
            self.buffered[market].append(data)

    def _apply(self, market: str, data: dict[str, Any], now: float) -> None:
        first, last = int(data["U"]), int(data["u"])
        if last <= self.last_update[market]:
            return
        if first > self.last_update[market] + 1:
            what = f"update {first}..{last} after {self.last_update[market]}"
            self.breaks.append((market, now, what))
            self.synced.discard(market)
            self.buffered[market].append(data)
            return
        book = self.books[market]
        for side in ("bids", "asks"):
            for price, quantity in data[side]:
                level, amount = Decimal(price), Decimal(quantity)
                if amount == 0:
                    book[side].pop(level, None)
                else:
                    book[side][level] = amount
        self.last_update[market] = last

    def problems(self) -> list[str]:
        """Trade ids that skipped or came again, and depth updates that broke their sequence,
        unless the server said to resynchronise (a fresh snapshot) or the connection ended."""
        found = [f"{self.name}: {error}" for error in self.errors]
        for market, seen in self.trades.items():
            for (before, _), (after, when) in itertools.pairwise(seen):
                if after == before + 1:
                    continue
                if after <= before:
                    found.append(f"{self.name}: {market} trade {after} after {before}")
                elif not self._excused(market, when):
                    found.append(
                        f"{self.name}: {market} trades {before + 1}..{after - 1} never came "
                        f"(at {_clock(when)})"
                    )
        for market, when, what in self.breaks:
            if not self._excused(market, when):
                found.append(
                    f"{self.name}: {market} depth {what} at {_clock(when)}, and no new snapshot"
                )
        return found

    def _excused(self, market: str, when: float) -> bool:
        if self.ended is not None and self.ended - when < RESYNC_WINDOW_S:
            return True
        return any(abs(t - when) < RESYNC_WINDOW_S for t in self.resyncs[market])


@dataclass
class Watchers:
    url: str
    markets: Sequence[str]
    count: int
    sessions: list[Session] = field(default_factory=list)

    async def watch(self, index: int, stop: asyncio.Event) -> None:
        streams = [f"{kind}@{m}" for m in self.markets for kind in ("trades", "depth")]
        number = 0
        while not stop.is_set():
            number += 1
            session = Session(index, number)
            try:
                async with connect(self.url, max_queue=None) as ws:
                    await ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
                    self.sessions.append(session)
                    reader = asyncio.ensure_future(self._read(ws, session))
                    stopping = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    stopping.cancel()
                    if reader.done():
                        reader.result()
                    else:
                        reader.cancel()
                        return  # stopped while connected: this session is the last
            except (OSError, WebSocketException):
                pass
            session.connected, session.ended = False, time.time()
            await asyncio.sleep(0.5)

    async def catch_up(self, depth: dict[str, dict[str, Any]], timeout: float = 15) -> None:
        """Until each connection that is in sync has every depth update the engines published
        (or `timeout`: the check then says which did not)."""
        deadline = time.monotonic() + timeout

        def behind() -> bool:
            return any(
                session.last_update.get(m, -1) < int(d["lastUpdateId"])
                for session in self.sessions if session.connected
                for m, d in depth.items() if m in session.synced
            )  # fmt: skip

        while behind() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def _read(self, ws: Any, session: Session) -> None:
        async for raw in ws:
            message = json.loads(raw)
            stream, now = str(message.get("stream", "")), time.time()
            kind, _, market = stream.partition("@")
            if kind == "trades":
                session.trades[market].append((int(message["data"]["id"]), now))
            elif kind == "depth":
                session.on_depth(market, message["data"], now)
            elif "error" in message:
                if message["error"]["code"] != TRY_AGAIN:
                    session.errors.append(str(message))
                return  # connects and subscribes again


# ------------------------------------------------------------------ the checks


@dataclass
class Check:
    name: str
    problems: list[str]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, most: int = 25) -> list[str]:
        head = f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.summary}"
        listed = [f"    {p}" for p in self.problems[:most]]
        if len(self.problems) > most:
            listed.append(f"    ... and {len(self.problems) - most} more")
        return [head, *listed]


@dataclass
class Exchange:
    """What the exchange holds once quiet: the ledger's order records and open sets (Redis),
    the history (PostgreSQL), the depth the engines published."""

    orders: dict[int, dict[str, str]]  # order id -> its ledger record
    open_sets: dict[int, set[int]]  # account -> its open order ids
    history: dict[int, dict[str, Any]]  # order id -> its PostgreSQL row
    trades: list[dict[str, Any]]  # PostgreSQL trades of the traded markets
    candles: list[dict[str, Any]]
    depth: dict[str, dict[str, Any]]  # market -> GET /api/v1/depth
    markets: dict[str, load.Market]


async def read_exchange(run: StackRun, markets: dict[str, load.Market]) -> Exchange:
    client = redis.asyncio.Redis.from_url(run.state["redis"], decode_responses=True)
    try:
        accounts = [int(a) for a in cast(set[str], await client.smembers(keys.ACCOUNTS))]
        pipe = client.pipeline(transaction=False)
        for account in accounts:
            pipe.smembers(keys.open_orders(account))
        members = await pipe.execute()
        open_sets = {a: {int(i) for i in ids} for a, ids in zip(accounts, members, strict=True)}
        connection = await asyncpg.connect(run.state["database"])
        try:
            history = {
                int(row["order_id"]): dict(row)
                for row in await connection.fetch("SELECT * FROM orders")
            }
            trades = [dict(r) for r in await connection.fetch(
                "SELECT * FROM trades WHERE market = ANY($1) ORDER BY market, ts, trade_id",
                list(markets),
            )]  # fmt: skip
            candles = [dict(r) for r in await connection.fetch(
                "SELECT * FROM candles WHERE market = ANY($1)", list(markets)
            )]  # fmt: skip
        finally:
            await connection.close()
        ids = set(history) | {i for ids in open_sets.values() for i in ids}
        pipe = client.pipeline(transaction=False)
        ordered = sorted(ids)
        for order_id in ordered:
            pipe.hgetall(keys.order(order_id))
        records = await pipe.execute()
        orders = {i: r for i, r in zip(ordered, records, strict=True) if r}
    finally:
        await client.aclose()
    depth = {}
    async with aiohttp.ClientSession() as http:
        for market in markets:
            async with http.get(
                f"{run.api}/api/v1/depth", params={"symbol": market, "limit": str(DEPTH_LEVELS)}
            ) as answer:
                depth[market] = await answer.json()
    return Exchange(orders, open_sets, history, trades, candles, depth, markets)


async def read_missing_orders(run: StackRun, exchange: Exchange, ids: Iterable[int]) -> None:
    """Order records the history does not list (acknowledged orders it never got)."""
    client = redis.asyncio.Redis.from_url(run.state["redis"], decode_responses=True)
    try:
        for order_id in ids:
            record = cast(dict[str, str], await client.hgetall(keys.order(order_id)))
            if record:
                exchange.orders[order_id] = record
    finally:
        await client.aclose()


def check_orders(answers: load.Answers, exchange: Exchange, tail: Tail) -> Check:
    """Every acknowledged order exists, in the ledger and in the history, with a status that
    agrees with its fills; every acknowledged cancel took."""
    problems: list[str] = []
    executed_by_order: Counter[int] = Counter()
    trade_ids_by_order: dict[int, set[int]] = defaultdict(set)
    for (_, trade_id), trade in tail.trades.items():
        for order_id in (trade.maker_order_id, trade.taker_order_id):
            executed_by_order[order_id] += trade.quantity
            trade_ids_by_order[order_id].add(trade_id)
    statuses: Counter[str] = Counter()
    for account, request, reply in answers.placed:
        order_id = int(reply["orderId"])
        what = f"order {order_id} (account {account}, {request['clientOrderId']})"
        record = exchange.orders.get(order_id)
        if record is None:
            problems.append(f"{what}: acknowledged {reply['status']} but not in the ledger")
            continue
        status, executed = record["status"], int(record["executed"])
        statuses[status] += 1
        market = exchange.markets[record["market"]]
        if executed != executed_by_order[order_id]:
            problems.append(
                f"{what}: the ledger says {executed} lots executed, its trades in the event "
                f"streams {executed_by_order[order_id]}"
            )
        if Decimal(reply["executedQty"]) > executed * market.lot:
            problems.append(f"{what}: answered executedQty {reply['executedQty']}, now less")
        missing = {int(f["tradeId"]) for f in reply["fills"]} - trade_ids_by_order[order_id]
        if missing:
            problems.append(f"{what}: answered fills {sorted(missing)} not in the event streams")
        problems += [f"{what}: {p}" for p in status_problems(record, request)]
        row = exchange.history.get(order_id)
        if row is None:
            problems.append(f"{what}: {status} in the ledger, missing from the history")
        elif (row["status"], Decimal(row["executed"])) != (status, executed * market.lot):
            problems.append(
                f"{what}: the history says {row['status']} {row['executed']}, the ledger "
                f"{status} {executed * market.lot}"
            )
    for account, order_id, reply in answers.cancelled:
        record = exchange.orders.get(order_id)
        final = record["status"] if record else "missing"
        if reply["status"] == "CANCELED" and final != "CANCELED":
            problems.append(f"order {order_id} (account {account}): cancel answered, now {final}")
        elif final in OPEN:
            problems.append(f"order {order_id} (account {account}): cancel taken, still {final}")
    summary = (
        f"{len(answers.placed)} acknowledged orders ({_counts(statuses)}), "
        f"{len(answers.cancelled)} acknowledged cancels"
    )
    return Check("acknowledged orders", problems, summary)


def status_problems(record: dict[str, str], request: dict[str, Any] | None) -> list[str]:
    status, quantity = record["status"], int(record["quantity"])
    executed, locked = int(record["executed"]), int(record["locked"])
    found = []
    if status == "FILLED" and executed != quantity:
        found.append(f"FILLED with {executed} of {quantity} lots executed")
    if status == "NEW" and executed != 0:
        found.append(f"NEW with {executed} lots executed")
    if status in ("PARTIALLY_FILLED", "CANCELED", "EXPIRED") and executed >= quantity:
        found.append(f"{status} with all {quantity} lots executed")
    if status not in OPEN and locked != 0:
        found.append(f"{status} but still locks {locked} {record['lock_asset']}")
    if status in OPEN and locked <= 0:
        found.append(f"{status} with nothing locked")
    if request is not None and request["timeInForce"] == "IOC" and status in OPEN:
        found.append(f"an IOC order still {status}")
    return found


def check_locks(exchange: Exchange) -> Check:
    """Nothing open without its lock, no lock without its open order, and the engines' books
    hold exactly the orders the ledger has open."""
    problems: list[str] = []
    listed = {i: a for a, ids in exchange.open_sets.items() for i in ids}
    for order_id, account in sorted(listed.items()):
        record = exchange.orders.get(order_id)
        if record is None:
            problems.append(f"account {account}: open order {order_id} has no record")
        elif record["status"] not in OPEN:
            problems.append(f"account {account}: order {order_id} listed open but is "
                            f"{record['status']} (locks {record['locked']})")  # fmt: skip
    resting: dict[str, dict[Level, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for order_id, record in exchange.orders.items():
        problems += [f"order {order_id}: {p}" for p in status_problems(record, None)]
        if record["status"] in OPEN:
            if order_id not in listed:
                problems.append(
                    f"order {order_id} (account {record['account']}) is {record['status']}, "
                    f"locks {record['locked']}, but is not in its account's open orders"
                )
            market = exchange.markets.get(record["market"])
            if market is not None:
                side = "bids" if record["side"] == "BUY" else "asks"
                remaining = int(record["quantity"]) - int(record["executed"])
                price = int(record["price"]) * market.tick
                resting[market.symbol][(side, price)] += remaining * market.lot
    for symbol, depth in exchange.depth.items():
        book: dict[Level, Decimal] = {
            (side, Decimal(price)): Decimal(quantity)
            for side in ("bids", "asks") for price, quantity in depth[side]
        }  # fmt: skip
        ledger = resting[symbol]
        for level in sorted(set(book) | set(ledger)):
            engine, held = book.get(level, Decimal(0)), ledger.get(level, Decimal(0))
            if engine != held:
                problems.append(
                    f"{symbol} {level[0]} at {level[1]}: the engine's depth has {engine}, "
                    f"the ledger's open orders {held}"
                )
    summary = f"{len(listed)} open orders over {len(exchange.open_sets)} accounts"
    return Check("open orders and locks", problems, summary)


def check_trades(exchange: Exchange, tail: Tail) -> Check:
    """Every trade of the event streams is in PostgreSQL exactly once, as settled."""
    problems = list(tail.duplicates) + [f"not read from the streams: {g}" for g in tail.gaps]
    stored: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in exchange.trades:
        stored[(row["market"], int(row["trade_id"]))].append(row)
    for key, trade in sorted(tail.trades.items()):
        rows = stored.get(key, [])
        if len(rows) != 1:
            problems.append(f"{key[0]} trade {key[1]}: {len(rows)} times in PostgreSQL")
            continue
        market, row = exchange.markets[key[0]], rows[0]
        expected = (trade.price * market.tick, trade.quantity * market.lot,
                    trade.maker_order_id, trade.taker_order_id)  # fmt: skip
        got = (Decimal(row["price"]), Decimal(row["quantity"]), int(row["maker_order_id"]),
               int(row["taker_order_id"]))  # fmt: skip
        if expected != got:
            problems.append(f"{key[0]} trade {key[1]}: PostgreSQL has {got}, settled {expected}")
    problems += [
        f"{market} trade {trade_id}: in PostgreSQL, never in an event stream"
        for market, trade_id in sorted(set(stored) - set(tail.trades))
    ]
    return Check("trades", problems, f"{len(tail.trades)} trades in the event streams")


def check_candles(exchange: Exchange) -> Check:
    """The stored candles equal candles recomputed from the stored trades."""
    computed: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in sorted(exchange.trades, key=lambda r: (r["market"], r["ts"], r["trade_id"])):
        ms = int(row["ts"].timestamp() * 1000)
        for interval, length in INTERVALS_MS.items():
            key = (row["market"], interval, ms - ms % length)
            price = Decimal(row["price"])
            candle = computed.setdefault(key, {
                "open": price, "high": price, "low": price, "close": price,
                "base_volume": Decimal(0), "quote_volume": Decimal(0), "trade_count": 0,
            })  # fmt: skip
            candle["high"], candle["low"] = max(candle["high"], price), min(candle["low"], price)
            candle["close"] = price
            candle["base_volume"] += Decimal(row["quantity"])
            candle["quote_volume"] += Decimal(row["quote_quantity"])
            candle["trade_count"] += 1
    stored = {
        (row["market"], row["interval"], int(row["open_time"].timestamp() * 1000)): row
        for row in exchange.candles
    }
    problems = []
    for key in sorted(set(computed) | set(stored)):
        want, have = computed.get(key), stored.get(key)
        if want is None or have is None:
            problems.append(f"{key}: {'stored' if have else 'computed'} only")
            continue
        wrong = {name: (have[name], value) for name, value in want.items()
                 if Decimal(have[name]) != Decimal(value)}  # fmt: skip
        if wrong:
            problems.append(f"{key}: stored, recomputed {wrong}")
    return Check("candles", problems, f"{len(stored)} candles")


def check_watchers(watchers: Watchers, exchange: Exchange) -> Check:
    """No trade id skipped or repeated, no depth diff missed, unless the server said to
    resynchronise; a connection that lasted to the end holds the engine's depth."""
    problems: list[str] = []
    for session in watchers.sessions:
        problems += session.problems()
    last = [s for s in watchers.sessions if s.connected]
    for session in last:
        for symbol, depth in exchange.depth.items():
            if symbol not in session.synced:
                problems.append(f"{session.name}: {symbol} not in sync at the end")
                continue
            book = session.books[symbol]
            for side in ("bids", "asks"):
                engine = {Decimal(p): Decimal(q) for p, q in depth[side]}
                levels = sorted(book[side].items(), reverse=side == "bids")
                # REST gives the best 100 levels; a book that has more is exact within them.
                mine = dict(levels if len(engine) < DEPTH_LEVELS else levels[:DEPTH_LEVELS])
                if mine != engine:
                    differ = sorted(set(mine.items()) ^ set(engine.items()))[:6]
                    problems.append(
                        f"{session.name}: {symbol} {side} differ from the engine's depth "
                        f"(its update {session.last_update[symbol]}, the engine's "
                        f"{depth['lastUpdateId']}): {differ}"
                    )
    trades = sum(len(t) for s in watchers.sessions for t in s.trades.values())
    resyncs = sum(len(r) for s in watchers.sessions for r in s.resyncs.values())
    summary = (
        f"{len(watchers.sessions)} connections ({len(last)} to the end), {trades} trade "
        f"messages, {resyncs} resynchronisations"
    )
    return Check("WebSocket watchers", problems, summary)


def check_audit(run: StackRun) -> Check:
    script = Path(sys.executable).with_name("cryptex-audit")
    env = {**os.environ, "CRYPTEX_REDIS_URL": str(run.state["redis"])}
    done = subprocess.run(
        [str(script)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return Check("cryptex-audit", [f"exit {done.returncode}: {done.stderr[-2000:]}"], "")
    problems = list(report.get("problems", []))
    if done.returncode != 0 and not problems:
        problems.append(f"exit {done.returncode}")
    return Check("cryptex-audit", problems, f"{report.get('accounts')} accounts")


def check_unanswered(answers: load.Answers, exchange: Exchange) -> Check:
    """Places that got no answer may or may not have been taken; a taken one is found by its
    clientOrderId and holds to the same rules as an acknowledged one."""
    by_client = {(int(r["account"]), r["client_order_id"]): i for i, r in exchange.history.items()}
    found, problems = 0, []
    for account, request, _ in answers.unanswered:
        order_id = by_client.get((account, request["clientOrderId"]))
        if order_id is None:
            continue
        found += 1
        record = exchange.orders.get(order_id)
        if record is None:
            problems.append(f"order {order_id} ({request['clientOrderId']}): in the history, "
                            "not in the ledger")  # fmt: skip
        else:
            problems += [f"order {order_id}: {p}" for p in status_problems(record, request)]
    summary = f"{len(answers.unanswered)} places without an answer, {found} of them taken"
    return Check("unanswered places", problems, summary)


def _clock(unix: float) -> str:
    """A time of the run as the services' logs write it (UTC), to find it there."""
    return time.strftime("%H:%M:%S", time.gmtime(unix)) + f".{int(unix % 1 * 1000):03d}"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common())


# ------------------------------------------------------------------ the run


@dataclass
class Result:
    checks: list[Check]
    kills: Counter[str]
    figures: load.Figures

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def markets_dir(run: StackRun) -> Path:
    directory = run.data / "markets"
    directory.mkdir(exist_ok=True)
    for name in MANIFESTS:
        (directory / name).write_text((ROOT / "crds" / "examples" / name).read_text())
    return directory


async def wait_quiet(run: StackRun, tail: Tail, markets: Sequence[str]) -> None:
    """Until every command is settled, every event batch committed by the DB processor and
    read by the tail."""
    client = redis.asyncio.Redis.from_url(run.state["redis"])
    deadline = time.monotonic() + QUIET_TIMEOUT_S
    waiting: list[str] = []
    try:
        while time.monotonic() < deadline:
            waiting = []
            for market in markets:
                for stream, group in ((keys.commands(market), keys.COMMANDS_GROUP),
                                      (keys.events(market), keys.EVENTS_GROUP)):  # fmt: skip
                    info = {g["name"].decode(): g for g in await client.xinfo_groups(stream)}
                    state = info.get(group)
                    newest = (await client.xinfo_stream(stream))["last-generated-id"]
                    # Not XINFO's `lag`: after Redis restarts it stays thousands of entries
                    # behind a group that has read every one (`entries-read` falls behind).
                    if state is None or state["pending"] or state["last-delivered-id"] != newest:
                        waiting.append(f"{stream} {group}: {state}, newest {newest!r}")
            if not waiting and await tail.caught_up(client):
                await asyncio.sleep(2)  # the last WebSocket messages in flight
                return
            await asyncio.sleep(0.5)
    finally:
        await client.aclose()
    raise AssertionError(f"not quiet after {QUIET_TIMEOUT_S:.0f}s: {waiting}")


async def soak(run: StackRun, config: Soak, revived: list[subprocess.Popen[bytes]]) -> Result:
    """The soak on a running stack; the processes it starts again go to `revived`."""
    say(f"chaos soak: seed {config.seed}, {config.seconds:.0f}s, {config.traders} traders, "
        f"{config.watchers} watchers; stack in {run.data}")  # fmt: skip
    rng = random.Random(config.seed)
    tail = Tail(run.state["redis"], MARKETS)
    stop = asyncio.Event()
    following = asyncio.create_task(tail.follow(stop))
    watchers = Watchers(run.ws, MARKETS, config.watchers)
    watching = [asyncio.create_task(watchers.watch(i, stop)) for i in range(config.watchers)]
    chaos = Chaos(run, random.Random(rng.getrandbits(64)), config.kill_every_s, revived=revived)
    figures = load.Figures()
    connector = aiohttp.TCPConnector(limit=4 * config.traders, keepalive_timeout=4.0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=load.TIMEOUT_S)
    ) as session:
        api = load.Api(session, run.api)
        markets = {m: await load.load_market(api, m) for m in MARKETS}
        mids = {m: await load.find_mid(api, markets[m], MM_PRICES[m]) for m in MARKETS}
        run_id = f"{config.seed:x}"[-8:]
        traders = [
            await load.sign_up(api, run.admin_token, markets[MARKETS[i % 2]],
                               mids[MARKETS[i % 2]], i, run_id)
            for i in range(config.traders)
        ]  # fmt: skip
        for trader in traders:
            trader.rng.seed(rng.getrandbits(64))
        say(f"{len(traders)} traders signed up and funded; trading and killing")
        started = time.monotonic()
        until = time.perf_counter() + config.seconds
        # A failure of the killer (a process that died by itself, or does not come back)
        # ends the soak at once.
        async with asyncio.TaskGroup() as group:
            group.create_task(chaos.loop(started + config.seconds))
            for t in traders:
                market = MARKETS[t.index % 2]
                group.create_task(load.trade(api, t, markets[market], mids[market], until, figures))
        # The market maker requotes for ever: stopped, as `down` stops it, the stack goes quiet.
        say(f"trading stopped after {time.monotonic() - started:.0f}s; stopping the market "
            "maker; waiting for quiet")  # fmt: skip
        await asyncio.to_thread(monitoring.stop, run, "mm")
        await wait_quiet(run, tail, MARKETS)
        exchange = await read_exchange(run, markets)
        await watchers.catch_up(exchange.depth)
        stop.set()
        await asyncio.gather(following, *watching)
    acked = {int(reply["orderId"]) for _, _, reply in figures.answers.placed}
    await read_missing_orders(run, exchange, acked - set(exchange.orders))
    checks = [
        check_orders(figures.answers, exchange, tail),
        check_unanswered(figures.answers, exchange),
        check_locks(exchange),
        check_trades(exchange, tail),
        check_candles(exchange),
        check_watchers(watchers, exchange),
        await asyncio.to_thread(check_audit, run),
        Check("processes", dead(run, besides=["mm"]), "every one that was not killed runs"),
    ]
    result = Result(checks, chaos.kills, figures)
    report(result, chaos, config)
    return result


def report(result: Result, chaos: Chaos, config: Soak) -> None:
    figures = result.figures
    say(f"seed {config.seed}: kills by process: {_counts(result.kills) or 'none'}")
    for name, times in sorted(chaos.restart_s.items()):
        say(f"  {name}: back in {min(times):.1f}..{max(times):.1f}s")
    answers = figures.answers
    say(
        f"requests answered: {len(answers.placed)} orders ({_counts(figures.outcomes)}), "
        f"{len(answers.cancelled)} cancels, {len(answers.cancel_refused)} cancels refused, "
        f"refused places {dict(answers.refused)}; no answer: {len(answers.unanswered)} "
        f"({_counts(figures.errors)})"
    )
    for check in result.checks:
        for line in check.lines():
            say(line)


def run_soak(config: Soak, options: Sequence[str] = ()) -> Result:
    """A stack of its own on free ports, the soak, and the stack stopped and removed unless a
    check failed (its data dir and logs are kept then, and named)."""
    run = StackRun("--no-monitoring", *options)
    run.options = (*run.options, "--markets", str(markets_dir(run)))
    run.up()
    result: Result | None = None
    revived: list[subprocess.Popen[bytes]] = []
    try:
        result = asyncio.run(soak(run, config, revived))
    finally:
        run.run("down", check=False)
        for popen in revived:
            popen.wait(timeout=30)
        if result is not None and result.ok:
            run.remove()
        else:
            say(f"kept for inspection: {run.data}")
    return result


def seed_from_env() -> int:
    value = os.environ.get("CRYPTEX_CHAOS_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 32)


def described(result: Result) -> Callable[[], str]:
    return lambda: "\n".join(line for c in result.checks if not c.ok for line in c.lines())
