"""The DB processor on Redis: finds the markets in the registry (new ones while running), reads
each market's event stream with the `dbproc` consumer group, writes what it read (`store`), and
acknowledges only after the commit.

Entries this instance was given before a failure are read again first; entries another
instance left unacknowledged (it died) are taken over once idle for `claim_idle_ms`. Either way
a batch may be written twice, or after a later one: the writes are idempotent and
order-independent, so that changes nothing.

Clocks appear here only for pacing (registry refresh, takeovers, health) and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import asyncpg
import msgspec
import redis
import redis.asyncio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.typing import KeyT, StreamIdT

from cryptex import keys, registry
from cryptex.db import migrate
from cryptex.ledger.read_orders import READ_ORDERS, READ_ORDERS_CHUNK, read_orders_call
from cryptex.markets import MarketError, MarketSpec
from cryptex.redis_replies import as_text
from cryptex_dbproc import store, timescale
from cryptex_dbproc.batch import collect
from cryptex_dbproc.orders import Placement
from cryptex_dbproc.settings import DbprocSettings
from cryptex_dbproc.store import Written

log = logging.getLogger("cryptex.dbproc")

_RETRY_DELAY_S: Final = 0.5  # after a failed read or write
# What a failed read or write may raise: the batch stays pending and is read again.
# PostgreSQL killed can also end a write in asyncpg's InternalClientError: the backend's last
# FATAL message ("unexpected postmaster exit") came after the COMMIT's answer, and the pool's
# reset of the connection on release found it still reading that error. The pool has closed
# that connection; the batch is pending still and is written again (idempotently).
TRANSIENT: Final = (
    redis.ConnectionError, redis.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.InternalClientError, OSError,
)  # fmt: skip
# A consumer with nothing pending, silent this many takeover periods, is a dead instance.
_DEAD_CONSUMER_PERIODS: Final = 20

Entries = list[tuple[str, dict[bytes, bytes]]]


@dataclass(frozen=True, slots=True)
class Ready:
    """A market's batch, read and prepared, to be committed."""

    market: MarketSpec
    prepared: store.Prepared
    read_at: float  # perf_counter: a batch's latency runs from its read to its acknowledgement


class DbprocMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "cryptex_dbproc_stream_lag", "Event stream entries not yet read", ["market"],
            registry=registry,
        )  # fmt: skip
        self.pending = Gauge(
            "cryptex_dbproc_pending_entries", "Entries read but not yet acknowledged",
            ["market"], registry=registry,
        )  # fmt: skip
        self.batch_events = Histogram(
            "cryptex_dbproc_batch_events", "Events per written batch", ["market"],
            buckets=(1, 10, 100, 500, 1_000, 5_000, 20_000, 100_000), registry=registry,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "cryptex_dbproc_batch_seconds", "From reading a batch to acknowledging it",
            ["market"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=registry,
        )  # fmt: skip
        self.rows = Counter(
            "cryptex_dbproc_rows", "Rows written (rate() gives rows/s)", ["market", "table"],
            registry=registry,
        )  # fmt: skip
        self.duplicates = Counter(
            "cryptex_dbproc_duplicate_trades", "Trades delivered again and skipped", ["market"],
            registry=registry,
        )  # fmt: skip
        self.markets = Gauge("cryptex_dbproc_markets", "Markets read", registry=registry)
        self.trimmed = Counter(
            "cryptex_dbproc_trimmed_entries", "Event stream entries trimmed once written",
            ["market"], registry=registry,
        )  # fmt: skip


class Processor:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        pool: asyncpg.Pool,
        settings: DbprocSettings,
        metrics: DbprocMetrics | None = None,
    ) -> None:
        self.redis = client
        self.pool = pool
        self.settings = settings
        self.consumer = settings.instance
        self.metrics = metrics or DbprocMetrics(CollectorRegistry())
        self.markets: dict[str, MarketSpec] = {}
        self._streams: dict[bytes, str] = {}  # stream key -> symbol
        self._pending: set[str] = set()  # markets whose entries given to us are read first
        self._next_refresh = 0.0
        self._next_claim = 0.0
        self._ahead: asyncio.Task[dict[str, Ready]] | None = None  # the next round
        self.started = False
        self.last_progress = time.monotonic()

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        applied = await migrate(self.pool)
        settings = self.settings
        retention = settings.trades_retention_days
        async with self.pool.acquire() as conn:
            timescaledb = await timescale.setup(
                conn,
                compress_after=timedelta(days=settings.compress_after_days),
                retention=timedelta(days=retention) if retention else None,
            )
        await self.refresh()
        self.started = True
        log.info(
            "dbproc started",
            extra={"migrations": applied, "timescaledb": timescaledb, "markets": list(self.markets),
                   "consumer": self.consumer},
        )  # fmt: skip

    async def refresh(self) -> None:
        """Read the registry: start reading new markets, stop reading delisted ones."""
        self._next_refresh = time.monotonic() + self.settings.registry_refresh_s
        try:
            listed = registry.parse_all(await self.redis.hgetall(keys.MARKETS))
        except MarketError as error:
            log.error("the market registry holds a bad manifest", extra={"error": str(error)})
            return
        for symbol, market in listed.items():
            if symbol not in self.markets:
                await self._ensure_group(symbol)
                self._pending.add(symbol)
                self._streams[keys.events(symbol).encode()] = symbol
                log.info("reading a new market", extra={"market": symbol})
            self.markets[symbol] = market
        for symbol in set(self.markets) - set(listed):
            del self.markets[symbol]
            self._pending.discard(symbol)
            log.info("market delisted: no longer read", extra={"market": symbol})
        self.metrics.markets.set(len(self.markets))
        await self.look_after_streams()

    async def _ensure_group(self, symbol: str) -> None:
        try:
            # From the stream's start: events settled before this group existed are written too.
            await self.redis.xgroup_create(
                keys.events(symbol), keys.EVENTS_GROUP, id="0", mkstream=True
            )
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    # ------------------------------------------------------------------ run

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.run_once()
        finally:
            if self._ahead is not None:  # its entries stay pending, read again at the next start
                self._ahead.cancel()
                await asyncio.gather(self._ahead, return_exceptions=True)

    async def run_once(self) -> int:
        """Write one round of batches (at most one per market) while the next round is read
        and prepared; returns the number of events written."""
        try:
            if time.monotonic() >= self._next_refresh:
                await self.refresh()
            ahead, self._ahead = self._ahead, None
            claim_due = time.monotonic() >= self._next_claim
            ready = await ahead if ahead is not None else await self._next_round(claim_due)
            if ready and not self._pending and not claim_due:
                # Redis and Python work on the next round while PostgreSQL writes this one. The
                # entries of both are pending until written, so a failure loses nothing.
                self._ahead = asyncio.create_task(self._next_round(claim_due=False))
            results = await asyncio.gather(*(self.commit(s, r) for s, r in ready.items()))
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # A stream or its group was deleted under us (Redis restarted empty, a market
            # recreated): make them again, from the start of whatever stream is there now.
            log.warning("consumer group missing, creating it again", extra={"error": str(error)})
            for symbol in self.markets:
                await self._ensure_group(symbol)
            return 0
        except TRANSIENT as error:
            log.warning("redis or postgresql unreachable, retrying", extra={"error": str(error)})
            self._pending.update(self.markets)
            await asyncio.sleep(_RETRY_DELAY_S)
            return 0
        self.last_progress = time.monotonic()
        return sum(results)

    async def read(self) -> dict[str, Entries]:
        """Entries given to this consumer before (a failure) first, then new ones."""
        pending = [symbol for symbol in self.markets if symbol in self._pending]
        streams: dict[KeyT, StreamIdT]
        if pending:
            streams = {keys.events(symbol): "0" for symbol in pending}
            block = None
        else:
            streams = {keys.events(symbol): ">" for symbol in self.markets}
            block = self.settings.block_ms
        if not streams:
            await asyncio.sleep(self.settings.block_ms / 1000)
            return {}
        reply: Any = await self.redis.xreadgroup(
            keys.EVENTS_GROUP, self.consumer, streams,
            count=self.settings.batch_size, block=block,
        )  # fmt: skip
        reads = {
            self._streams[stream]: [(entry_id.decode(), fields) for entry_id, fields in entries]
            for stream, entries in reply or ()
            if entries
        }
        self._pending.difference_update(symbol for symbol in pending if symbol not in reads)
        return reads

    async def claim(self) -> dict[str, Entries]:
        """Take over entries that another consumer left unacknowledged for `claim_idle_ms`.
        Until none are left, each round claims instead of reading."""
        claims: dict[str, Entries] = {}
        for symbol in self.markets:
            stream = keys.events(symbol)
            reply: Any = await self.redis.xautoclaim(
                stream, keys.EVENTS_GROUP, self.consumer, self.settings.claim_idle_ms,
                start_id="0-0", count=self.settings.batch_size,
            )  # fmt: skip
            entries, deleted = reply[1], reply[2] if len(reply) > 2 else []
            if deleted:  # trimmed while pending: nothing is left to write
                await self.redis.xack(stream, keys.EVENTS_GROUP, *deleted)
            if entries:
                claims[symbol] = [(entry_id.decode(), fields) for entry_id, fields in entries]
                log.warning(
                    "took over entries another consumer left unacknowledged",
                    extra={"market": symbol, "count": len(entries)},
                )
        if not claims:
            await self._forget_dead_consumers()
            self._next_claim = time.monotonic() + self.settings.claim_idle_ms / 2000
        return claims

    async def look_after_streams(self) -> None:
        """For each market, with one read of its group: the lag and pending metrics, then trim
        the event stream below what the group still needs (its oldest pending entry, or its
        last delivered one). Entries younger than `events_retention_s` stay."""
        if not self.markets:
            return
        seconds, micros = await self.redis.time()  # the clock the stream ids come from
        keep_from_ms = (seconds * 1_000_000 + micros) // 1000 - int(
            self.settings.events_retention_s * 1000
        )
        for symbol in self.markets:
            stream = keys.events(symbol)
            group = await self._group(stream)
            if group is None:
                continue
            lag = group.get("lag")
            if isinstance(lag, int):  # None when Redis cannot tell (after deletions)
                self.metrics.lag.labels(symbol).set(lag)
            self.metrics.pending.labels(symbol).set(int(group["pending"]))
            floor = as_text(group["last-delivered-id"])
            if group["pending"]:
                # Read after the last delivered id: pending now means delivered by then, or
                # later; none left (acknowledged in between) leaves the last delivered one.
                summary: dict[str, Any] = await self.redis.xpending(stream, keys.EVENTS_GROUP)
                if summary["pending"] and summary["min"] is not None:
                    floor = as_text(summary["min"])
            if floor == "0-0":
                continue  # nothing read yet
            if int(floor.partition("-")[0]) > keep_from_ms:  # stream ids begin with their ms
                floor = f"{keep_from_ms}-0"
            trimmed = await self.redis.xtrim(stream, minid=floor, approximate=False)
            if trimmed:
                self.metrics.trimmed.labels(symbol).inc(int(trimmed))

    async def _group(self, stream: str) -> dict[str, Any] | None:
        """XINFO GROUPS of the DB processor's group on `stream` (None: no stream or group)."""
        try:
            groups: list[dict[str, Any]] = await self.redis.xinfo_groups(stream)
        except redis.ResponseError:  # no such stream
            return None
        return next((g for g in groups if as_text(g["name"]) == keys.EVENTS_GROUP), None)

    async def _forget_dead_consumers(self) -> None:
        """Each instance is a consumer of its own name; dead ones would pile up."""
        silent_ms = _DEAD_CONSUMER_PERIODS * self.settings.claim_idle_ms
        for symbol in self.markets:
            stream = keys.events(symbol)
            consumers: list[dict[str, Any]] = await self.redis.xinfo_consumers(
                stream, keys.EVENTS_GROUP
            )
            for consumer in consumers:
                name = as_text(consumer["name"])
                if (
                    name != self.consumer
                    and not consumer["pending"]
                    and consumer["idle"] > silent_ms
                ):
                    await self.redis.xgroup_delconsumer(stream, keys.EVENTS_GROUP, name)

    async def _next_round(self, claim_due: bool) -> dict[str, Ready]:
        reads = await self.claim() if claim_due else {}
        if not reads:
            reads = await self.read()
        read_at = time.perf_counter()
        prepared = await asyncio.gather(*(self.prepare(s, e, read_at) for s, e in reads.items()))
        return {ready.market.symbol: ready for ready in prepared if ready is not None}

    async def prepare(self, symbol: str, entries: Entries, read_at: float) -> Ready | None:
        market = self.markets.get(symbol)
        if market is None:
            return None  # delisted since it was read
        batch = collect(entries)
        for entry_id in batch.malformed:
            # Such an entry can never become valid: it is acknowledged with the batch.
            log.error(
                "skipping a malformed event entry", extra={"market": symbol, "entry": entry_id}
            )
        return Ready(market, await store.prepare(market, batch, self._placements), read_at)

    async def commit(self, symbol: str, ready: Ready) -> int:
        """Write one market's batch in one transaction, then acknowledge its entries. On
        failure they stay pending, to be read again."""
        batch = ready.prepared.batch
        try:
            async with self.pool.acquire() as conn:
                written = await store.commit(conn, ready.market, ready.prepared, self._placements)
            await self.redis.xack(keys.events(symbol), keys.EVENTS_GROUP, *batch.entry_ids)
        except TRANSIENT as error:
            log.warning(
                "a batch was not written; it will be read again",
                extra={"market": symbol, "entries": len(batch.entry_ids), "error": str(error)},
            )
            self._pending.add(symbol)
            await asyncio.sleep(_RETRY_DELAY_S)
            return 0
        self._observe(symbol, batch.events, written, time.perf_counter() - ready.read_at)
        if written.unknown_orders:
            log.error(
                "orders changed by events but found neither in the database nor in the ledger",
                extra={"market": symbol, "order_ids": written.unknown_orders[:20]},
            )
        return batch.events

    async def _placements(self, order_ids: Collection[int]) -> Mapping[int, Placement]:
        return await placements(self.redis, order_ids)

    # ------------------------------------------------------------------ upkeep

    def _observe(self, symbol: str, events: int, written: Written, seconds: float) -> None:
        metrics = self.metrics
        metrics.batch_events.labels(symbol).observe(events)
        metrics.batch_seconds.labels(symbol).observe(seconds)
        rows = metrics.rows
        rows.labels(symbol, "trades").inc(written.trades)
        rows.labels(symbol, "orders").inc(written.orders_created + written.orders_updated)
        rows.labels(symbol, "candles").inc(written.candles)
        if written.duplicates:
            metrics.duplicates.labels(symbol).inc(written.duplicates)

    def healthy(self) -> bool:
        """Started, and the loop has turned recently (a read blocks for block_ms at most)."""
        stalled_after = max(10.0, 20 * self.settings.block_ms / 1000)
        return self.started and time.monotonic() - self.last_progress < stalled_after


# Redis holds strings: numbers and the side are converted to the record's types.
_placements_decoder: Final = msgspec.msgpack.Decoder(list[Placement | int], strict=False)


async def placements(
    client: redis.asyncio.Redis, order_ids: Collection[int]
) -> dict[int, Placement]:
    """The ledger's placements of these orders; orders without a record are left out."""
    ids = list(order_ids)
    if not ids:
        return {}
    starts = range(0, len(ids), READ_ORDERS_CHUNK)
    async with client.pipeline(transaction=False) as pipe:
        for start in starts:
            call = read_orders_call(ids[start : start + READ_ORDERS_CHUNK], Placement._fields)
            pipe.eval(READ_ORDERS.source, len(call.keys), *call.keys, *call.args)
        packed: list[bytes] = await pipe.execute()
    decoded = [
        placement
        for start, raw in zip(starts, packed, strict=True)
        for placement in _decode(raw, ids[start : start + READ_ORDERS_CHUNK])
    ]
    return {i: p for i, p in zip(ids, decoded, strict=True) if p is not None}


def _decode(raw: bytes, order_ids: list[int]) -> list[Placement | None]:
    try:
        return [p if isinstance(p, Placement) else None for p in _placements_decoder.decode(raw)]
    except msgspec.ValidationError:
        pass
    # A record that breaks its own schema: find it, and keep the others.
    out: list[Placement | None] = []
    for order_id, values in zip(order_ids, msgspec.msgpack.decode(raw), strict=True):
        try:
            out.append(Placement.from_values(values) if values else None)
        except msgspec.ValidationError as error:
            log.error("unreadable order record", extra={"order_id": order_id, "error": str(error)})
            out.append(None)
    return out
