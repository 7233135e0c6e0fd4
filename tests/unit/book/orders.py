"""Short builders for book commands in tests: `buy(7, account=1, price=100, qty=5)`."""

from __future__ import annotations

from typing import Any

from cryptex.wire import CancelOrder, OrderType, PlaceOrder, RestingOrder, Side, TimeInForce
from cryptex_engine.book import OrderBook

TS = 1_700_000_000_000


def buy(order_id: int, *, account: int, price: int, qty: int, **options: Any) -> PlaceOrder:
    return PlaceOrder(order_id, account, Side.BUY, price, qty, options.pop("ts", TS), **options)


def sell(order_id: int, *, account: int, price: int, qty: int, **options: Any) -> PlaceOrder:
    return PlaceOrder(order_id, account, Side.SELL, price, qty, options.pop("ts", TS), **options)


def ioc(command: PlaceOrder) -> PlaceOrder:
    return _with(command, time_in_force=TimeInForce.IOC)


def fok(command: PlaceOrder) -> PlaceOrder:
    return _with(command, time_in_force=TimeInForce.FOK)


def market(order_id: int, *, account: int, side: Side, qty: int, protection: int) -> PlaceOrder:
    return PlaceOrder(
        order_id, account, side, 0, qty, TS,
        order_type=OrderType.MARKET, protection_price=protection,
    )  # fmt: skip


def cancel(order_id: int, *, account: int) -> CancelOrder:
    return CancelOrder(order_id, account, TS)


def _with(command: PlaceOrder, **changes: Any) -> PlaceOrder:
    import msgspec

    return msgspec.structs.replace(command, **changes)


def resting(book: OrderBook) -> list[tuple[int, int, Side, int, int]]:
    """The whole book as (order_id, account, side, price, remaining): bids best first, then
    asks best first, oldest first within a level."""
    return [_row(order) for order in book.snapshot().orders]


def waiting(book: OrderBook) -> list[tuple[int, int]]:
    """The waiting stop orders as (order_id, quantity), oldest first."""
    return [(stop.order_id, stop.quantity) for stop in book.snapshot().stops]


def _row(order: RestingOrder) -> tuple[int, int, Side, int, int]:
    return (order.order_id, order.account, order.side, order.price, order.remaining)
