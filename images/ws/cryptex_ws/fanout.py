"""Fan-out: who is subscribed to what, and each connection's send queue.

A message is encoded once: its JSON, then one complete WebSocket frame (server frames are
unmasked, and compression is off, so the frame is the same bytes for every subscriber). Its
subscribers each get a reference to those bytes appended to their pending list; one flush
writes each connection's pending frames with one transport write, at the end of the event
loop's turn. The write system calls are most of the cost of a delivery; while a round of writes
runs, messages gather for the next, so under load each write carries more. `max_linger_s` > 0
goes further: a flush starts no sooner than the previous one's duration after it ended (less
CPU, more latency). No per-subscriber JSON, framing or task wake-up.

A connection's send queue is its transport's write buffer (what the kernel has not taken). When
it holds more than `queue_bytes` after a flush, the client is not keeping up: it is unsubscribed
from everything at once, so it costs nothing more, and closed with 1008 and a reason (websockets
aborts the TCP connection if the close handshake does not finish within its close timeout). It
never makes anyone else wait.

Frames go straight to the transport, as `websockets.broadcast` does, only while the connection
is OPEN: never during a closing handshake, never fragmented, so they interleave with the
library's own control frames (pings, pongs, close) at frame boundaries only."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Collection
from typing import Final, Protocol

from websockets.frames import Frame, Opcode
from websockets.protocol import State

from cryptex_ws.metrics import DROP_SLOW_CONSUMER, WsMetrics
from cryptex_ws.streams import Kind, Stream

log = logging.getLogger("cryptex.ws")

NORMAL_CLOSURE: Final = 1000
POLICY_VIOLATION: Final = 1008
SLOW_CONSUMER: Final = "slow consumer: send queue full"
IDLE: Final = "idle: no subscription"


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame carrying UTF-8 `payload`."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...


class Stateful(Protocol):
    @property
    def state(self) -> State: ...


class Connection(Stateful, Protocol):
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Client:
    """One connection as the hub sees it."""

    __slots__ = (
        "account", "closed", "connection", "id", "idle_since", "pending", "protocol",
        "subscriptions", "transport",
    )  # fmt: skip
    _ids = itertools.count(1)

    def __init__(self, connection: Connection, protocol: Stateful, transport: Transport) -> None:
        self.id = next(Client._ids)  # for log lines
        self.connection = connection
        self.protocol = protocol  # its state, one property away rather than two
        self.transport = transport
        self.pending: list[bytes] = []  # frames queued since the last flush
        self.subscriptions: set[Stream] = set()
        self.account: int | None = None  # set by AUTH
        self.closed = False
        self.idle_since: float | None = time.monotonic()  # while it has no subscription


class Hub:
    def __init__(
        self,
        queue_bytes: int,
        metrics: WsMetrics,
        max_linger_s: float = 0.0,
        schedule: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self.queue_bytes = queue_bytes
        self.max_linger_s = max_linger_s
        self._quiet_until = 0.0  # perf_counter time before which no flush starts
        self.metrics = metrics
        self.clients: set[Client] = set()
        self._public: dict[str, set[Client]] = {}  # stream key -> subscribers
        self._private: dict[tuple[Kind, int], set[Client]] = {}  # (kind, account) -> subscribers
        self._dirty: list[Client] = []  # clients with pending frames
        self._flush_scheduled = False
        self._schedule = schedule
        self._closing: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ membership

    def add(self, connection: Connection, protocol: Stateful, transport: Transport) -> Client:
        """`protocol` is the connection's Sans-I/O state machine, `transport` its socket's."""
        client = Client(connection, protocol, transport)
        self.clients.add(client)
        self.metrics.connections.inc()
        return client

    def remove(self, client: Client) -> None:
        """Forget a client that disconnected or is being dropped (idempotent)."""
        if client.closed:
            return
        client.closed = True
        for stream in list(client.subscriptions):
            self.unsubscribe(client, stream)
        client.pending.clear()
        self.clients.discard(client)
        self.metrics.connections.dec()

    def subscribe(self, client: Client, stream: Stream) -> None:
        if client.closed or stream in client.subscriptions:
            return
        self._table(client, stream).add(client)
        client.subscriptions.add(stream)
        client.idle_since = None
        self.metrics.subscriptions.labels(stream.kind.value).inc()

    def unsubscribe(self, client: Client, stream: Stream) -> None:
        if stream not in client.subscriptions:
            return
        client.subscriptions.discard(stream)
        if not client.subscriptions:
            client.idle_since = time.monotonic()
        key: str | tuple[Kind, int]
        if stream.kind.private:
            assert client.account is not None
            key, table = (stream.kind, client.account), self._private
            table[key].discard(client)
            if not table[key]:
                del table[key]
        else:
            public = self._public
            public[stream.key].discard(client)
            if not public[stream.key]:
                del public[stream.key]
        self.metrics.subscriptions.labels(stream.kind.value).dec()

    def _table(self, client: Client, stream: Stream) -> set[Client]:
        if stream.kind.private:
            assert client.account is not None, "private streams need an authenticated client"
            return self._private.setdefault((stream.kind, client.account), set())
        return self._public.setdefault(stream.key, set())

    def subscribers(self, stream: str) -> set[Client] | None:
        """The subscribers of a public stream by its key (`Stream.key`: its name, or a
        combined Binance stream's), or None: then nothing needs encoding."""
        return self._public.get(stream)

    def account_subscribers(self, kind: Kind, account: int) -> set[Client] | None:
        return self._private.get((kind, account))

    def close_idle(self, idle_s: float) -> None:
        """Close the connections that have had no subscription for `idle_s` seconds."""
        cutoff = time.monotonic() - idle_s
        for client in [c for c in self.clients if c.idle_since is not None]:
            if client.idle_since is not None and client.idle_since < cutoff:
                self.drop(client, NORMAL_CLOSURE, IDLE, "idle")

    # ------------------------------------------------------------------ sending

    def publish(self, subscribers: Collection[Client], frames: list[bytes]) -> None:
        """Queue the same frames (already encoded) to every subscriber."""
        dirty = self._dirty
        if len(frames) == 1:
            frame = frames[0]
            for client in subscribers:
                pending = client.pending
                if not pending:
                    dirty.append(client)
                pending.append(frame)
        else:
            for client in subscribers:
                pending = client.pending
                if not pending:
                    dirty.append(client)
                pending += frames
        self.metrics.sent.inc(len(subscribers) * len(frames))
        self._request_flush()

    def send(self, client: Client, payload: bytes) -> None:
        """Queue one JSON message to one client, behind what is already queued to it."""
        self.send_frame(client, text_frame(payload))

    def send_frame(self, client: Client, frame: bytes) -> None:
        if client.closed:
            return
        if not client.pending:
            self._dirty.append(client)
        client.pending.append(frame)
        self.metrics.sent.inc()
        self._request_flush()

    def _request_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            if self._schedule is not None:
                self._schedule(self.flush)
                return
            loop = asyncio.get_running_loop()
            wait = self._quiet_until - time.perf_counter()
            if wait > 0:
                loop.call_later(wait, self.flush)
            else:
                loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write each dirty client's pending frames with one write; drop whoever is too slow."""
        started = time.perf_counter()
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        limit, open_ = self.queue_bytes, State.OPEN
        written = 0
        for client in dirty:
            pending = client.pending
            if not pending:
                continue  # dropped since it was queued
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            if client.protocol.state is not open_:
                continue  # the closing handshake has begun: nothing more goes out
            transport = client.transport
            transport.write(data)
            written += len(data)
            if transport.get_write_buffer_size() > limit:
                self.drop(client, POLICY_VIOLATION, SLOW_CONSUMER, DROP_SLOW_CONSUMER)
        finished = time.perf_counter()
        # The next flush waits as long as this one took (up to the linger): under load, writes
        # take at most half the loop's time and carry more frames each; at ease, no wait.
        self._quiet_until = finished + min(finished - started, self.max_linger_s)
        self.metrics.bytes_sent.inc(written)
        self.metrics.flush_seconds.observe(finished - started)

    def drop(self, client: Client, code: int, reason: str, label: str) -> None:
        """Unsubscribe a client from everything now and close its connection with `code`."""
        if client.closed:
            return
        self.remove(client)
        self.metrics.disconnects.labels(label).inc()
        level = logging.INFO if code == NORMAL_CLOSURE else logging.WARNING
        log.log(level, "closing a connection", extra={"client": client.id, "reason": reason})
        task = asyncio.get_running_loop().create_task(client.connection.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
