"""The snapshots of one engine: its state as of the last settled batch, stored in Redis.

The periodic snapshot is encoded by a forked copy of the engine, which sees the state as of the
last settled batch while the engine goes on matching: encoding a book of tens of thousands of
orders in place (11 ms for the book alone at 20k, its funds on top) was the tail of order
latency. The engine itself writes what the copy encoded, so snapshots land in order and under
its fencing token: one part (`cryptex.ledger.SNAPSHOT_PART_BYTES`) after each batch, so that
no write holds Redis for long, then a commit that makes the parts the stored snapshot at once.
The stop snapshot and an asked-for one are taken in place, and written whole.

The engine calls in between batches only, from its one thread: nothing here runs while a batch
is applied, and nothing here changes the book.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Protocol

import redis
from prometheus_client import Histogram

from cryptex import keys
from cryptex.ledger import (
    Ledger,
    SnapshotCommit,
    StaleFenceError,
    snapshot_command_id,
    snapshot_parts,
)
from cryptex.settings import EngineSettings
from cryptex.wire import EngineSnapshot, encode
from cryptex_engine.book import OrderBook
from cryptex_engine.settlement import Settlement

log = logging.getLogger("cryptex.engine")


class EngineState(Protocol):
    """What a snapshot is taken of: the engine, read at the moment a snapshot is taken."""

    token: int  # the engine's fencing token
    applied: str  # id of the last settled command
    book: OrderBook
    settlement: Settlement


@dataclass(frozen=True, slots=True)
class _SnapshotCopy:
    """A forked copy of the engine encoding a snapshot as of command `applied`."""

    pid: int
    memory: int  # file descriptor of the anonymous memory file it writes
    applied: str
    started: float  # perf_counter when forked


@dataclass(slots=True)
class _SnapshotWrite:
    """An encoded snapshot as of command `applied`, being written part by part."""

    parts: list[memoryview]  # of the encoded state (`snapshot_parts`)
    applied: str
    started: float  # perf_counter when the snapshot was begun
    staged: int = 0  # parts written so far


class Snapshotter:
    def __init__(
        self,
        engine: EngineState,
        client: redis.Redis,
        ledger: Ledger,
        symbol: str,
        settings: EngineSettings,
        seconds: Histogram,  # time to write one snapshot, labelled by market
    ) -> None:
        self.engine = engine
        self.redis = client
        self.ledger = ledger
        self.symbol = symbol
        self.settings = settings
        self.seconds = seconds
        self.last = 0.0  # monotonic time of the last snapshot stored, or copy failed
        self.encoding: _SnapshotCopy | None = None  # a periodic snapshot being encoded
        self.writing: _SnapshotWrite | None = None  # one being written, a part per turn

    def postpone(self) -> None:
        """The next periodic snapshot is due an interval from now."""
        self.last = time.monotonic()

    def turn(self, now: float) -> None:
        """One step of the periodic snapshot, between two batches: collect the copy, or write
        the next part, or fork a copy once the interval has passed."""
        if self.encoding is not None:
            self.collect()
        elif self.writing is not None:
            self.write_part(self.writing)
        elif now - self.last >= self.settings.snapshot_interval_s:
            self.begin()

    def take(self) -> None:
        """Persist the state as of the last settled command, now and in place (at stop, or when
        asked); a periodic snapshot still being encoded or written is dropped: this one is
        newer."""
        self._drop_copy()
        self.writing = None
        engine = self.engine
        started, state = time.perf_counter(), self.encoded_state()
        for _ in range(2):  # parts lost under it (a Redis failover) get it written once more
            stored = self.ledger.store_snapshot(self.symbol, engine.token, state, engine.applied)
            if stored is SnapshotCommit.STALE:
                raise self._stale()
            if stored is SnapshotCommit.STORED:
                self._stored(engine.applied, started)
                return
            log.warning("snapshot parts out of step, rewriting", extra={"market": self.symbol})
        raise RuntimeError(f"{self.symbol}: the snapshot's parts changed twice while written")

    def encoded_state(self) -> bytes:
        engine = self.engine
        return encode(
            EngineSnapshot(
                last_command_id=engine.applied,
                book=engine.book.snapshot(),
                funds=engine.settlement.snapshot_funds(),
                ticker_buckets=engine.settlement.ticker.buckets(),
            )
        )

    def begin(self) -> None:
        """Fork a copy that encodes the state as of now into an anonymous memory file."""
        started = time.perf_counter()
        memory = os.memfd_create(f"snapshot-{self.symbol}", os.MFD_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # the copy: encode, hand over, and leave without the parent's cleanups
            code = 1
            try:
                os.nice(19)  # CPU goes to matching first: a snapshot can wait a little
                with os.fdopen(memory, "wb") as out:
                    out.write(self.encoded_state())
                code = 0
            finally:
                os._exit(code)
        self.encoding = _SnapshotCopy(pid, memory, self.engine.applied, started)

    def collect(self) -> None:
        """Once the copy is done, begin writing what it encoded."""
        copy = self.encoding
        assert copy is not None
        done, status = os.waitpid(copy.pid, os.WNOHANG)
        if not done:
            return
        self.encoding = None
        with os.fdopen(copy.memory, "rb") as encoded:
            encoded.seek(0)  # the copy's writes moved the offset both share
            state = encoded.read()
        if os.waitstatus_to_exitcode(status) != 0:
            log.error("the snapshot copy failed", extra={"market": self.symbol, "status": status})
            self.postpone()  # try again after the interval
            return
        self.writing = _SnapshotWrite(snapshot_parts(state), copy.applied, copy.started)
        self.write_part(self.writing)

    def write_part(self, write: _SnapshotWrite) -> None:
        """Stage the next part of a periodic snapshot; commit it after the last one."""
        token = self.engine.token
        if write.staged < len(write.parts):  # else: only the commit's answer was lost
            part = write.parts[write.staged]
            if not self.ledger.stage_snapshot_part(
                self.symbol, token, part, first=write.staged == 0
            ):
                raise self._stale()
            write.staged += 1
            if write.staged < len(write.parts):
                return
        committed = self.ledger.commit_snapshot(self.symbol, token, write.staged, write.applied)
        if committed is SnapshotCommit.STALE:
            raise self._stale()
        if (
            committed is SnapshotCommit.INCOMPLETE
            and snapshot_command_id(self.redis, self.symbol) != write.applied
        ):
            # A part whose answer was lost was staged again: write the snapshot once more. (Had
            # the commit's answer been lost, the stored snapshot would reflect `applied`.)
            log.warning("snapshot parts out of step, rewriting", extra={"market": self.symbol})
            write.staged = 0
            return
        self.writing = None
        self._stored(write.applied, write.started)

    def _stale(self) -> StaleFenceError:
        return StaleFenceError(f"{self.symbol}: fencing token {self.engine.token} is stale")

    def _stored(self, applied: str, started: float) -> None:
        """A snapshot as of command `applied` is stored: trim the commands it makes unneeded."""
        self.postpone()
        if self.settings.trim_commands and applied:
            self.redis.xtrim(keys.commands(self.symbol), minid=applied, approximate=True)
        self.seconds.labels(self.symbol).observe(time.perf_counter() - started)

    def _drop_copy(self) -> None:
        copy, self.encoding = self.encoding, None
        if copy is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(copy.pid, signal.SIGKILL)
            os.waitpid(copy.pid, 0)
            os.close(copy.memory)
