"""Order history rows: what a batch changes in each order, and the row of an order seen for the
first time.

A batch's change is merged into a row so that writing it twice, or batches in any order, gives
the same row: amounts are added only from trades inserted by the same transaction (a trade
already in the table was counted when it went in), a final status is never replaced, and the
latest time wins. `store` applies exactly these rules in SQL; `status_after` is the rule written
once in Python for the rows built here.

Pure, and in the engine's integers (ticks, lots, quote units, epoch ms): `store` turns them
into exact decimals and times as it writes.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import msgspec

from cryptex.markets import MarketSpec
from cryptex.wire import OrderAccepted, OrderRejected, OrderStatus, OrderType, Side, TimeInForce
from cryptex_dbproc.batch import Batch, Closing

FINAL: Final = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


@dataclass(slots=True)
class OrderChange:
    executed: int = 0  # lots, from trades this transaction inserted
    executed_quote: int = 0  # quote units, likewise
    closing: Closing | None = None  # set when the batch ended the order
    updated: int = 0  # epoch ms of the order's latest event in the batch
    quantity: int = 0  # lots: the quantity an amend in the batch lowered it to; 0: none

    @property
    def changes_anything(self) -> bool:
        """False for an order whose events in this batch were all written before (an amend
        written again only lowers the quantity to what it already is)."""
        return self.executed > 0 or self.closing is not None or self.quantity > 0


def changes(batch: Batch, inserted: Container[int], market: MarketSpec) -> dict[int, OrderChange]:
    """Every order the batch touches; `inserted` holds the ids of the trades that this
    transaction inserted (the others are redeliveries)."""
    out = {
        order_id: OrderChange(
            closing=batch.closed.get(order_id),
            updated=ts,
            quantity=batch.amended.get(order_id, 0),
        )
        for order_id, ts in batch.touched.items()
    }
    for trade in batch.trades:
        if trade.trade_id not in inserted:
            continue
        notional = market.notional(trade.price, trade.quantity)
        for order_id in (trade.maker_order_id, trade.taker_order_id):
            change = out[order_id]
            change.executed += trade.quantity
            change.executed_quote += notional
    return out


def status_after(current: OrderStatus, executed: int, closing: Closing | None) -> OrderStatus:
    """A final status is final; otherwise a closing sets it, and any execution makes a new
    order partially filled. `executed` is the order's whole executed quantity after the change."""
    if current in FINAL:
        return current
    if closing is not None:
        return closing.status
    return OrderStatus.PARTIALLY_FILLED if executed > 0 else current


class OrderRow(NamedTuple):
    """A row of the `orders` table (its market aside), in column order."""

    order_id: int
    account: int
    side: str
    order_type: str
    time_in_force: str
    price: int  # ticks
    quantity: int  # lots
    executed: int  # lots
    executed_quote: int  # quote units
    status: str
    reason: str
    client_order_id: str
    created: int  # epoch ms
    updated: int  # epoch ms


class Placement(NamedTuple):
    """What the ledger recorded of an order when it was placed and its events lack: fields of
    its `cryptex.ledger.OrderRecord` (Redis hash `keys.order(id)`), by the same names."""

    market: str
    account: int
    side: Side
    price: int  # ticks (a market order's protection price)
    quantity: int  # lots
    order_type: str
    time_in_force: str
    client_order_id: str
    created: int  # epoch ms

    @classmethod
    def from_values(cls, values: Sequence[object]) -> Placement:
        """The record's values for `Placement._fields`, as Redis holds them (strings): numbers
        and the side are converted to their types; msgspec.ValidationError if one does not."""
        return msgspec.convert(values, cls, strict=False)


def placed_row(
    event: OrderAccepted | OrderRejected, placement: Placement | None, change: OrderChange
) -> OrderRow | None:
    """The row of an order placed in this batch, with the batch's change already in it. The
    event lacks the order's type, time in force and client order id (and, for a rejection, its
    side, price and quantity): those come from the ledger's record. Without a record an
    accepted order gets the wire's defaults, a rejected one no row (None)."""
    if isinstance(event, OrderAccepted):
        side, price, quantity = event.side, event.price, event.quantity
    elif placement is not None:
        side, price, quantity = placement.side, placement.price, placement.quantity
    else:
        return None
    if placement is not None:
        order_type, time_in_force = placement.order_type, placement.time_in_force
        client_order_id = placement.client_order_id
    else:
        order_type, time_in_force = OrderType.LIMIT.value, TimeInForce.GTC.value
        client_order_id = ""
    if change.quantity:
        quantity = min(quantity, change.quantity)
    closing = change.closing
    return OrderRow(
        order_id=event.order_id,
        account=event.account,
        side=side,  # a StrEnum member is its own text
        order_type=order_type,
        time_in_force=time_in_force,
        price=price,
        quantity=quantity,
        executed=change.executed,
        executed_quote=change.executed_quote,
        status=status_after(OrderStatus.NEW, change.executed, closing),
        reason=closing.reason if closing is not None else "",
        client_order_id=client_order_id,
        created=event.ts,
        updated=max(event.ts, change.updated),
    )


def recorded_row(order_id: int, placement: Placement) -> OrderRow:
    """The row, as placed, of an order that a batch touches before the batch that placed it
    was written (batches written out of order, after a takeover): static fields from the
    ledger's record, nothing executed yet. The batch's change then goes in like into any row."""
    return OrderRow(
        order_id=order_id,
        account=placement.account,
        side=placement.side.value,
        order_type=placement.order_type,
        time_in_force=placement.time_in_force,
        price=placement.price,
        quantity=placement.quantity,
        executed=0,
        executed_quote=0,
        status=OrderStatus.NEW.value,
        reason="",
        client_order_id=placement.client_order_id,
        created=placement.created,
        updated=placement.created,
    )
