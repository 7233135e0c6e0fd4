"""One market's event-stream entries, gathered into what the DB processor writes: the trades,
the orders placed, and what ended each order.

Pure: stream entries in, values out. No Redis, no database, no clock, no logging; an entry that
can never decode is returned as such, for the caller to report and acknowledge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import msgspec

from cryptex import keys
from cryptex.wire import (
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    TradeExecuted,
)

# An entry of the event stream is one settled engine batch: its events (a msgpack list) and the
# id of the batch's last command.
_EVENTS_FIELD: Final = keys.EVENTS_FIELD.encode()
_decoder: Final = msgspec.msgpack.Decoder(list[Event])


class Closing(NamedTuple):
    """How an order ended: its final status, and why (an expiry or rejection reason)."""

    status: OrderStatus
    reason: str = ""


@dataclass
class Batch:
    entry_ids: list[str] = field(default_factory=list)  # all of them, acknowledged after commit
    malformed: list[str] = field(default_factory=list)  # ids of entries that never decode
    events: int = 0
    trades: list[TradeExecuted] = field(default_factory=list)
    placed: dict[int, OrderAccepted | OrderRejected] = field(default_factory=dict)
    closed: dict[int, Closing] = field(default_factory=dict)
    touched: dict[int, int] = field(default_factory=dict)  # order id -> its latest event's ts
    amended: dict[int, int] = field(default_factory=dict)  # order id -> its lowest new quantity


def collect(entries: Iterable[tuple[str, Mapping[bytes, bytes]]]) -> Batch:
    """Entries in stream order; one whose fields are gone (trimmed while pending) counts as
    malformed: there is nothing left to write for it."""
    batch = Batch()
    for entry_id, fields in entries:
        batch.entry_ids.append(entry_id)
        try:
            events = _decoder.decode(fields[_EVENTS_FIELD])
        except (KeyError, msgspec.DecodeError, msgspec.ValidationError):
            batch.malformed.append(entry_id)
            continue
        batch.events += len(events)
        for event in events:
            _add(batch, event)
    return batch


def _add(batch: Batch, event: Event) -> None:
    # `type(event) is`, which mypy narrows, and not `match`: its class patterns are isinstance
    # checks, which cost ~200 ns more per event.
    if type(event) is TradeExecuted:
        batch.trades.append(event)
        _touch(batch, event.maker_order_id, event.ts)
        _touch(batch, event.taker_order_id, event.ts)
    elif type(event) is OrderAccepted:
        batch.placed.setdefault(event.order_id, event)
        _touch(batch, event.order_id, event.ts)
    elif type(event) is OrderFilled:
        _close(batch, event.order_id, Closing(OrderStatus.FILLED), event.ts)
    elif type(event) is OrderCancelled:
        _close(batch, event.order_id, Closing(OrderStatus.CANCELED), event.ts)
    elif type(event) is OrderExpired:
        _close(batch, event.order_id, Closing(OrderStatus.EXPIRED, event.reason.value), event.ts)
    elif type(event) is OrderRejected:
        batch.placed.setdefault(event.order_id, event)
        _close(batch, event.order_id, Closing(OrderStatus.REJECTED, event.reason.value), event.ts)
    elif type(event) is OrderAmended:
        # Amends only lower a quantity: the lowest one is the latest, in any order of writing.
        amended = batch.amended
        amended[event.order_id] = min(amended.get(event.order_id, event.quantity), event.quantity)
        _touch(batch, event.order_id, event.ts)
    # Cancel, amend and control rejections, trading-state changes: nothing in the history.


def _touch(batch: Batch, order_id: int, ts: int) -> None:
    touched = batch.touched
    if ts > touched.get(order_id, -1):
        touched[order_id] = ts


def _close(batch: Batch, order_id: int, closing: Closing, ts: int) -> None:
    batch.closed[order_id] = closing
    _touch(batch, order_id, ts)
