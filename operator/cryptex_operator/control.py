"""The operator's side of Redis: listing a market, sending control commands to its engine and
waiting for the engine's acknowledgement, reading its heartbeat, and delisting it.

Every function takes a synchronous client (`cryptex.ledger.connect`) and is safe to call again:
kopf retries handlers, so each step must find its own earlier effect and not repeat it. Waits are
bounded (a blocking XREAD, or a poll at a fixed pace) and return None when the time is up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

import msgspec
import redis

from cryptex import keys, registry
from cryptex.ledger import read_snapshot, snapshot_command_id
from cryptex.markets import MarketSpec
from cryptex.redis_replies import as_text, stream_id
from cryptex.wire import (
    AllOrdersCancelled,
    CancelAllOrders,
    ControlRejected,
    Event,
    SetTradingState,
    TakeSnapshot,
    TradingStateChanged,
    decode_engine_snapshot,
    encode,
)

ControlCommand = SetTradingState | CancelAllOrders | TakeSnapshot
Acknowledgement = TradingStateChanged | ControlRejected | AllOrdersCancelled

_events: Final = msgspec.msgpack.Decoder(list[Event])
_EVENTS_FIELD: Final = keys.EVENTS_FIELD.encode()  # stream fields come back as bytes
_POLL_S: Final = 0.05  # pace of the snapshot poll (no stream to block on)
_READ_COUNT: Final = 256  # event stream entries per read while looking for an acknowledgement

StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


class Sent(msgspec.Struct, frozen=True):
    """A control command in a market's command stream; kept in an annotation between retries."""

    request_id: str
    command_id: str  # its entry id in the command stream
    events_from: str  # the event stream's last id when it was sent: the ack comes after


@dataclass(frozen=True, slots=True)
class Heartbeat:
    instance: str
    token: int
    applied: str
    trading_state: str
    resting_orders: int
    ts: int  # epoch ms


# ------------------------------------------------------------------ listing


def ensure_groups(client: redis.Redis, symbol: str) -> None:
    """The command stream with the engine's group and the event stream with dbproc's, from the
    start of each stream; those already there are left as they are."""
    for stream, group in (
        (keys.commands(symbol), keys.COMMANDS_GROUP),
        (keys.events(symbol), keys.EVENTS_GROUP),
    ):
        try:
            client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


def registered(client: redis.Redis, symbol: str) -> dict[str, Any] | None:
    """The registry's manifest of `symbol` as stored (None if not listed)."""
    raw = cast(bytes | None, client.hget(keys.MARKETS, symbol))
    return None if raw is None else cast(dict[str, Any], json.loads(raw))


def listed_markets(client: redis.Redis) -> dict[str, MarketSpec]:
    return registry.load_all(client)


def list_market(client: redis.Redis, manifest: Mapping[str, Any]) -> MarketSpec:
    """Register the market and make its streams and groups."""
    market = registry.register(client, manifest)
    ensure_groups(client, market.symbol)
    return market


# ------------------------------------------------------------------ control commands


def send(client: redis.Redis, symbol: str, command: ControlCommand) -> Sent:
    """Append `command` to the market's command stream, noting in the same transaction where
    the event stream ends, so that the wait for its acknowledgement misses nothing."""
    pipe = client.pipeline(transaction=True)
    pipe.xrevrange(keys.events(symbol), count=1)
    pipe.xadd(keys.commands(symbol), {keys.COMMAND_FIELD: encode(command)})
    last, command_id = cast(tuple[StreamEntries, bytes], tuple(pipe.execute()))
    return Sent(
        request_id=command.request_id,
        command_id=command_id.decode(),
        events_from=last[0][0].decode() if last else "0-0",
    )


class AckLostError(RuntimeError):
    """The event stream was trimmed past where the acknowledgement of a request would be (the
    DB processor trims what it has written once old enough): it can no longer be read. Control
    commands may be sent again: setting the state the engine has, or cancelling all orders of an
    empty book, is acknowledged like any other."""


def _trimmed_after(client: redis.Redis, stream: str, position: str) -> bool:
    """Whether entries after `position` may have been trimmed from `stream`."""
    try:
        info: dict[str, Any] = client.xinfo_stream(stream)
    except redis.ResponseError:  # no such stream
        return False
    if int(info["entries-added"]) == int(info["length"]):
        return False  # nothing was ever removed
    first = info["first-entry"]
    oldest = first[0] if first else info["last-generated-id"]
    return stream_id(as_text(oldest)) > stream_id(position)


def wait_ack(
    client: redis.Redis, symbol: str, sent: Sent, timeout_s: float
) -> Acknowledgement | None:
    """The engine's acknowledgement of `sent` (the event that carries its request id), or None
    if none was settled within `timeout_s`. AckLostError if it may have been trimmed away."""
    stream = keys.events(symbol)
    position = sent.events_from
    deadline = time.monotonic() + timeout_s
    while True:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        reply = cast(
            list[tuple[bytes, StreamEntries]] | None,
            client.xread({stream: position}, count=_READ_COUNT, block=max(remaining_ms, 1)),
        )
        for entry_id, fields in reply[0][1] if reply else []:
            position = entry_id.decode()
            for event in _events.decode(fields.get(_EVENTS_FIELD, b"\x90")):
                if (
                    isinstance(event, TradingStateChanged | ControlRejected | AllOrdersCancelled)
                    and event.request_id == sent.request_id
                ):
                    return event
        if remaining_ms <= 0:
            if _trimmed_after(client, stream, sent.events_from):
                raise AckLostError(
                    f"{symbol}: the event stream no longer reaches back to request "
                    f"{sent.request_id}; it will be sent again"
                )
            return None


def wait_snapshot(client: redis.Redis, symbol: str, sent: Sent, timeout_s: float) -> bool:
    """Whether the engine's snapshot reflects the TakeSnapshot `sent` (its last command id has
    reached the command's), waiting up to `timeout_s`. The engine writes that snapshot right
    after it settles the batch holding the command, so the cheap applied id is watched first."""
    target = stream_id(sent.command_id)
    deadline = time.monotonic() + timeout_s
    while True:
        applied = cast(bytes | None, client.get(keys.applied(symbol)))
        if applied is not None and stream_id(applied.decode()) >= target:
            stored = snapshot_command_id(client, symbol)
            if stored is None:  # an engine from before snapshots were stored in parts
                raw = read_snapshot(client, symbol)
                stored = decode_engine_snapshot(raw).last_command_id if raw else None
            if stored is not None and stream_id(stored) >= target:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def describe(ack: Acknowledgement) -> str:
    """An acknowledgement in words, for an event."""
    if isinstance(ack, TradingStateChanged):
        return f"the engine went from {ack.previous.value} to {ack.state.value}"
    if isinstance(ack, AllOrdersCancelled):
        return f"the engine cancelled {ack.count} resting orders and released their funds"
    return f"the engine refused the request {ack.request_id}: {ack.reason.value}"


# ------------------------------------------------------------------ the engine's state


def heartbeat(client: redis.Redis, symbol: str) -> Heartbeat | None:
    """The engine's last heartbeat; None once it has lapsed (the engine is not running)."""
    raw = cast(bytes | None, client.get(keys.heartbeat(symbol)))
    if raw is None:
        return None
    beat = json.loads(raw)
    return Heartbeat(
        instance=str(beat.get("instance", "")),
        token=int(beat.get("token", 0)),
        applied=str(beat.get("applied", "")),
        trading_state=str(beat.get("tradingState", "")),
        resting_orders=int(beat.get("restingOrders", 0)),
        ts=int(beat.get("ts", 0)),
    )


def engine_stopped(client: redis.Redis, symbol: str) -> bool:
    """No engine holds the market's lease, and no heartbeat is left."""
    return client.exists(keys.lease(symbol), keys.heartbeat(symbol)) == 0


def unread_events(client: redis.Redis, symbol: str) -> int:
    """Event stream entries the DB processor has not read and acknowledged yet."""
    try:
        groups = client.xinfo_groups(keys.events(symbol))
    except redis.ResponseError:  # no such stream
        return 0
    for group in groups:
        name = group.get("name")
        if name in (keys.EVENTS_GROUP, keys.EVENTS_GROUP.encode()):
            pending = int(group.get("pending") or 0)
            lag = group.get("lag")
            if lag is None:  # unknown after deletions: count what follows its last delivery
                start = as_text(group.get("last-delivered-id", b"0-0"))
                lag = len(cast(StreamEntries, client.xrange(keys.events(symbol), f"({start}")))
            return pending + int(lag)
    return 0


def delist(client: redis.Redis, symbol: str) -> None:
    """Unregister the market and delete its streams and the engine's state. The fencing token
    stays: a token must never go back, or a forgotten engine could settle again."""
    pipe = client.pipeline(transaction=True)
    registry.unregister(pipe, symbol)
    pipe.delete(
        keys.commands(symbol),
        keys.events(symbol),
        keys.snapshot(symbol),
        keys.snapshot_staging(symbol),
        keys.snapshot_command(symbol),
        keys.applied(symbol),
        keys.lease(symbol),
        keys.heartbeat(symbol),
        keys.depth(symbol),
        keys.ticker(symbol),
        keys.recent_trades(symbol),
    )
    pipe.execute()
