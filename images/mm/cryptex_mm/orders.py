"""The bot's own open orders in one market, kept from three sources that can arrive in any
order: the answers to its own REST calls, `orders@me` messages, and `GET /api/v1/orders/open`
read again now and then. Pure: no I/O, just the rules that keep them consistent.

- An order id that was seen finished (filled, cancelled, expired, rejected) never comes back:
  a late REST answer or list read before the fill cannot resurrect it.
- Executed quantities only grow: an older message cannot undo a fill.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable
from typing import Final

from cryptex.wire import OrderStatus
from cryptex_mm.payloads import OrderChange
from cryptex_mm.quoting import Resting

_REMEMBERED: Final = 10_000  # finished ids kept; far more than a bot has in flight


class OwnOrders:
    def __init__(self) -> None:
        self.open: dict[int, Resting] = {}
        self._finished: OrderedDict[int, OrderStatus] = OrderedDict()

    def resting(self) -> list[Resting]:
        return sorted(self.open.values(), key=lambda order: order.order_id)

    def placed(self, order: Resting, status: OrderStatus) -> None:
        """The answer to a place (or to a lookup): open, or done already."""
        if order.order_id in self._finished:
            return
        if not status.is_open:
            self._finish(order.order_id, status)
            return
        known = self.open.get(order.order_id)
        if known is not None and known.executed > order.executed:
            order = dataclasses.replace(order, executed=known.executed)
        self.open[order.order_id] = order

    def changed(self, change: OrderChange) -> int:
        """An `orders@me` update; returns the lots newly executed (0 for an unknown order: a
        fill of an order whose place has not answered yet is seen in its answer)."""
        known = self.open.get(change.order_id)
        filled = 0
        if known is not None and change.executed > known.executed:
            filled = change.executed - known.executed
            known = dataclasses.replace(known, executed=change.executed)
            self.open[change.order_id] = known
        if not change.status.is_open:
            self._finish(change.order_id, change.status)
        return filled

    def gone(self, order_id: int, status: OrderStatus = OrderStatus.CANCELED) -> None:
        """Cancelled by the bot, or found not open any more."""
        self._finish(order_id, status)

    def reset(self, orders: Iterable[Resting]) -> None:
        """The open orders as `GET /api/v1/orders/open` has them now."""
        fresh: dict[int, Resting] = {}
        for order in orders:
            if order.order_id in self._finished:
                continue
            known = self.open.get(order.order_id)
            if known is not None and known.executed > order.executed:
                order = dataclasses.replace(order, executed=known.executed)
            fresh[order.order_id] = order
        self.open = fresh

    def _finish(self, order_id: int, status: OrderStatus) -> None:
        self.open.pop(order_id, None)
        self._finished[order_id] = status
        self._finished.move_to_end(order_id)
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)
