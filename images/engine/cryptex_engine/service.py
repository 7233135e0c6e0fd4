"""The engine of one market on Redis: the single writer of its book.

Start: take the market's lease and a fencing token, load the last snapshot, replay the commands
after it (those already settled rebuild state only), then read batches from the command stream
(pending entries first), apply them to the pure book, and settle each batch with one script
call. Snapshots every few seconds and on SIGTERM (`cryptex_engine.snapshots`: periodic ones
are encoded by a forked copy and written a part per batch). The settle script refuses a stale
token, so a second engine of the same market can never settle anything.

Clocks appear here only for pacing (snapshots, lease, heartbeat, metrics); every business time
comes from the commands.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import msgspec
import redis
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as MetricCounter

from cryptex import keys
from cryptex.ledger import CommandGapError, Ledger, SettleBatch, StreamEntries, read_snapshot
from cryptex.markets import MarketSpec
from cryptex.redis_replies import stream_id
from cryptex.settings import EngineSettings
from cryptex.wire import (
    Command,
    Event,
    TakeSnapshot,
    decode_command,
    decode_engine_snapshot,
    encode,
)
from cryptex_engine.book import OrderBook
from cryptex_engine.settlement import BatchOutcome, Settlement
from cryptex_engine.snapshots import Snapshotter
from cryptex_engine.ticker import RollingTicker

log = logging.getLogger("cryptex.engine")

_REPLAY_CHUNK = 10_000
_COMMAND_FIELD = keys.COMMAND_FIELD.encode()  # stream fields come back as bytes
_RETRY_DELAY_S = 0.2  # between attempts while Redis is unreachable


class LeaseLostError(RuntimeError):
    """Another engine instance holds this market's lease now."""


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.commands = MetricCounter(
            "cryptex_engine_commands", "Commands applied", ["market", "type"], registry=registry
        )
        self.events = MetricCounter(
            "cryptex_engine_events", "Events produced", ["market", "type"], registry=registry
        )
        self.batch_size = Histogram(
            "cryptex_engine_batch_size", "Commands per settled batch", ["market"],
            buckets=(1, 4, 16, 64, 256, 1024, 4096), registry=registry,
        )  # fmt: skip
        self.settle_seconds = Histogram(
            "cryptex_engine_settle_seconds", "Latency of one settle script call", ["market"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=registry,
        )  # fmt: skip
        self.stream_lag = Gauge(
            "cryptex_engine_stream_lag", "Commands in the stream not yet read", ["market"],
            registry=registry,
        )  # fmt: skip
        self.resting_orders = Gauge(
            "cryptex_engine_resting_orders", "Orders resting on the book", ["market"],
            registry=registry,
        )  # fmt: skip
        self.snapshot_seconds = Histogram(
            "cryptex_engine_snapshot_seconds", "Time to write one snapshot", ["market"],
            registry=registry,
        )  # fmt: skip


class Engine:
    def __init__(
        self,
        client: redis.Redis,
        market: MarketSpec,
        settings: EngineSettings,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.redis = client
        self.ledger = Ledger(client)
        self.market = market
        self.symbol = market.symbol
        self.settings = settings
        self.metrics = metrics or EngineMetrics(CollectorRegistry())
        self.book = OrderBook(market.trading_state)
        self.settlement = Settlement(market, {}, RollingTicker())
        self.token = 0
        self.applied = ""  # id of the last settled command
        self._read_pending = True
        self._next_entries: StreamEntries = []  # delivered by the last settle, not applied yet
        self._last_lease = 0.0
        self.snapshots = Snapshotter(
            self, client, self.ledger, self.symbol, settings, self.metrics.snapshot_seconds
        )
        self.last_progress = time.monotonic()  # for the health check

    # ------------------------------------------------------------------ start

    def start(self, stop: threading.Event | None = None) -> bool:
        """Take the market and rebuild its state; while Redis is away, keep trying (a restarting
        Redis must not end the engine). False when `stop` was set before it could start."""
        while stop is None or not stop.is_set():
            try:
                self._start()
                return True
            except (redis.ConnectionError, redis.TimeoutError):
                log.warning("redis unreachable at start, retrying", extra={"market": self.symbol})
                time.sleep(_RETRY_DELAY_S)
        return False

    def _start(self) -> None:
        self._take_lease()
        self.token = self.ledger.take_fence(self.symbol)
        self._ensure_group()
        self.redis.sadd(keys.ACCOUNTS, keys.FEE_ACCOUNT)  # fees are held there
        self._restore()
        self._heartbeat()
        log.info(
            "engine started",
            extra={
                "market": self.symbol, "token": self.token, "applied": self.applied,
                "resting": self.book.resting_orders,
            },
        )  # fmt: skip

    def _take_lease(self) -> None:
        ttl = self.settings.lease_ttl_ms
        while not self.ledger.renew_lease(self.symbol, self.settings.instance, ttl):
            holder = cast(bytes | None, self.redis.get(keys.lease(self.symbol)))
            log.warning(
                "waiting for the market's lease",
                extra={"market": self.symbol, "holder": holder.decode() if holder else None},
            )
            time.sleep(ttl / 4000)
        self._last_lease = time.monotonic()

    def _ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(
                keys.commands(self.symbol), keys.COMMANDS_GROUP, id="0", mkstream=True
            )
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _restore(self) -> None:
        """Snapshot, then every command up to the applied id, without settling anything."""
        # From scratch each time: a start retried after Redis went away must not build on a
        # half-done replay.
        self.book = OrderBook(self.market.trading_state)
        self.settlement = Settlement(self.market, {}, RollingTicker())
        self.applied = ""
        self._read_pending, self._next_entries = True, []  # what was delivered: pending again
        raw = read_snapshot(self.redis, self.symbol)
        if raw is not None:
            snapshot = decode_engine_snapshot(raw)
            self.book = OrderBook.restore(snapshot.book)
            self.settlement = Settlement(
                self.market,
                {funds.order_id: funds for funds in snapshot.funds},
                RollingTicker(snapshot.ticker_buckets),
            )
            self.applied = snapshot.last_command_id
        applied_raw = cast(bytes | None, self.redis.get(keys.applied(self.symbol)))
        target = applied_raw.decode() if applied_raw else ""
        replayed = 0
        while stream_id(self.applied) < stream_id(target):
            start = f"({self.applied}" if self.applied else "-"
            entries = cast(
                StreamEntries,
                self.redis.xrange(keys.commands(self.symbol), start, target, count=_REPLAY_CHUNK),
            )
            if not entries:
                raise RuntimeError(
                    f"{self.symbol}: commands up to {target} are gone from the stream, but the "
                    f"snapshot only reaches {self.applied or 'the start'}"
                )
            for entry_id, fields in entries:
                command = self._decode(entry_id, fields)
                if command is not None:
                    self.settlement.rebuild(command, self.book.apply(command))
                self.applied = entry_id.decode()
                replayed += 1
        self.book.take_depth_diff()  # published long ago, when these commands were settled
        self.snapshots.postpone()
        log.info("replayed settled commands", extra={"market": self.symbol, "count": replayed})

    # ------------------------------------------------------------------ run

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set; then a last snapshot. An exception ends the run without one:
        the book may then be ahead of what is settled, and the next start replays instead."""
        while not stop.is_set():
            self.run_once()
        try:
            self.snapshots.take()
            # The state is saved: the next engine (a roll) may start at once.
            self.ledger.release_lease(self.symbol, self.settings.instance)
        except (redis.ConnectionError, redis.TimeoutError):
            # Nothing is lost: the next start replays from the last snapshot that was written,
            # once this engine's lease has lapsed.
            log.warning("redis unreachable, no snapshot at stop", extra={"market": self.symbol})

    def run_once(self) -> int:
        """Read, apply and settle one batch; keep the lease, heartbeat and snapshots going.
        Returns the number of commands settled."""
        try:
            entries = self._read()
            # process() returns only once its batch is settled: it retries the settle itself.
            count = self.process(entries) if entries else 0
            now = time.monotonic()
            self.last_progress = now
            if now - self._last_lease >= self.settings.lease_ttl_ms / 3000:
                self._renew_lease(now)
            self.snapshots.turn(now)
        except (redis.ConnectionError, redis.TimeoutError):
            log.warning("redis unreachable, retrying", extra={"market": self.symbol})
            time.sleep(_RETRY_DELAY_S)
            self._read_pending = True  # a restarted Redis may hold entries delivered earlier
            return 0
        except CommandGapError as error:
            # The batch is applied in memory only: rebuild the state as settled, then read the
            # pending commands, the skipped ones with this batch's, in their order.
            log.error("commands were read elsewhere", extra={"market": self.symbol,
                                                             "error": str(error)})  # fmt: skip
            self._restore()
            return 0
        return count

    def _read(self) -> StreamEntries:
        if self._next_entries:  # the last settle delivered them: no round trip
            entries, self._next_entries = self._next_entries, []
            return entries
        stream = keys.commands(self.symbol)
        # Entries delivered before a restart but never settled come first ("0"), then new ones.
        start = "0" if self._read_pending else ">"
        # An idle engine writing a snapshot does not wait for commands between its parts.
        wait = not self._read_pending and self.snapshots.writing is None
        reply: Any = self.redis.xreadgroup(
            keys.COMMANDS_GROUP, keys.ENGINE_CONSUMER, {stream: start},
            count=self.settings.batch_size, block=self.settings.block_ms if wait else None,
        )  # fmt: skip
        entries = cast(StreamEntries, reply[0][1]) if reply else []
        if self._read_pending and not entries:
            self._read_pending = False
        return entries

    def process(self, entries: StreamEntries) -> int:
        """Apply a batch of stream entries and settle it."""
        book, settlement = self.book, self.settlement
        batch, outcome = SettleBatch(), BatchOutcome()
        events: list[Event] = []
        counts: dict[str, int] = {}
        last = self.applied
        # Entries come in id order; only pending ones read after a restart can be settled
        # already, and those come first.
        settled = 0
        applied = stream_id(self.applied)
        while settled < len(entries) and stream_id(entries[settled][0].decode()) <= applied:
            settled += 1
        batch.acks += [entry_id.decode() for entry_id, _ in entries[:settled]]
        for entry_id, fields in entries[settled:]:
            last = entry_id.decode()
            batch.acks.append(last)
            command = self._decode(entry_id, fields)
            if command is None:
                continue
            produced = book.apply(command)
            settlement.apply(command, produced, batch, outcome)
            events += produced
            name = type(command).__name__
            counts[name] = counts.get(name, 0) + 1
        if last == self.applied:
            self.redis.xack(keys.commands(self.symbol), keys.COMMANDS_GROUP, *batch.acks)
            return 0
        self._settle(batch, events, outcome, entries[settled][0].decode(), last)
        if counts.get(TakeSnapshot.__name__):
            self.snapshots.take()  # asked for (before an engine upgrade): now, not at the next tick
        market = self.symbol
        for name, count in counts.items():
            self.metrics.commands.labels(market, name).inc(count)
        self.metrics.batch_size.labels(market).observe(len(entries))
        self.metrics.resting_orders.labels(market).set(book.resting_orders)
        return len(entries)

    def _settle(
        self, batch: SettleBatch, events: list[Event], outcome: BatchOutcome, first: str, last: str
    ) -> None:
        symbol = self.symbol
        for channel, replies in outcome.replies.items():
            batch.publish(keys.reply_channel(channel), encode(replies))
        if outcome.updates:
            batch.publish(keys.order_updates_channel(symbol), encode(outcome.updates))
        if outcome.trades:
            batch.publish(keys.trades_channel(symbol), encode(outcome.trades))
            batch.trades = [encode(trade) for trade in outcome.trades]
        depth = b""
        diff = self.book.take_depth_diff()
        if diff is not None:
            batch.publish(keys.depth_channel(symbol), encode(diff))
            depth = encode(self.book.depth(self.settings.depth_levels))
        ticker = b""
        if outcome.trades:
            current = self.settlement.ticker.ticker()
            ticker = encode(current)
            batch.publish(keys.ticker_channel(symbol), ticker)
        payload = encode(events) if events else b""
        started = time.perf_counter()
        while True:
            # While entries delivered before a restart are being worked through, they come
            # first: new ones wait for `_read` to have emptied them.
            read_next = 0 if self._read_pending else self.settings.batch_size
            try:
                next_entries = self.ledger.settle(
                    symbol, self.token, self.applied, last, batch, payload, depth, ticker,
                    first_command_id=first, read_next=read_next,
                )  # fmt: skip
                break
            except (redis.ConnectionError, redis.TimeoutError):
                # Retrying is safe: the script settles a batch at most once. A lost reply may
                # have delivered the next entries too: read what is pending first.
                log.warning("redis unreachable while settling, retrying", extra={"market": symbol})
                self._read_pending = True
                time.sleep(_RETRY_DELAY_S)
        self._next_entries = next_entries
        self.metrics.settle_seconds.labels(symbol).observe(time.perf_counter() - started)
        # Counted per batch, not per event: a labels() lookup per event cost 9% of a drain.
        for name, count in Counter(type(event).__name__ for event in events).items():
            self.metrics.events.labels(symbol, name).inc(count)
        self.applied = last

    def _decode(self, entry_id: bytes, fields: dict[bytes, bytes]) -> Command | None:
        try:
            return decode_command(fields[_COMMAND_FIELD])
        except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as error:
            # A malformed entry can never become valid: skip it, the same way on every replay.
            log.error(
                "skipping a malformed command",
                extra={"market": self.symbol, "entry": entry_id.decode(), "error": str(error)},
            )
            return None

    # ------------------------------------------------------------------ upkeep

    def healthy(self) -> bool:
        """Started, and the loop has turned recently (a read blocks for block_ms at most)."""
        stalled_after = max(5.0, self.settings.lease_ttl_ms / 1000)
        return self.token > 0 and time.monotonic() - self.last_progress < stalled_after

    def _renew_lease(self, now: float) -> None:
        if not self.ledger.renew_lease(
            self.symbol, self.settings.instance, self.settings.lease_ttl_ms
        ):
            raise LeaseLostError(f"{self.symbol}: another engine holds the lease")
        self._last_lease = now
        self._heartbeat()

    def _heartbeat(self) -> None:
        beat = {
            "instance": self.settings.instance,
            "token": self.token,
            "applied": self.applied,
            "tradingState": self.book.trading_state.value,
            "restingOrders": self.book.resting_orders,
            "ts": int(time.time() * 1000),
        }
        self.redis.set(keys.heartbeat(self.symbol), json.dumps(beat), px=self.settings.lease_ttl_ms)
        lag = self._group_lag()
        if lag is not None:
            self.metrics.stream_lag.labels(self.symbol).set(lag)

    def _group_lag(self) -> int | None:
        groups = cast(
            Sequence[dict[str, object]], self.redis.xinfo_groups(keys.commands(self.symbol))
        )
        for group in groups:
            if group.get("name") in (keys.COMMANDS_GROUP, keys.COMMANDS_GROUP.encode()):
                lag = group.get("lag")
                return int(lag) if isinstance(lag, int) else None
        return None
