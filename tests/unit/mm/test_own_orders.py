"""The bot's open orders from REST answers, `orders@me` messages and list reads, whatever order
they come in: a finished order never comes back, executed quantities never shrink."""

from __future__ import annotations

from cryptex.wire import OrderStatus, Side
from cryptex_mm.orders import OwnOrders
from cryptex_mm.payloads import OrderChange
from cryptex_mm.quoting import Resting

NEW, PARTIAL, FILLED, CANCELED = (
    OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED,
)  # fmt: skip
BID = Resting(1, Side.BUY, 14985, 1000)
ASK = Resting(2, Side.SELL, 15015, 1000)


def change(order_id: int, status: OrderStatus, executed: int) -> OrderChange:
    return OrderChange(order_id, "SOL_USDC", status, executed)


def test_placed_orders_rest_until_filled_or_cancelled() -> None:
    orders = OwnOrders()
    orders.placed(BID, NEW)
    orders.placed(ASK, NEW)
    assert orders.changed(change(1, PARTIAL, 300)) == 300
    assert orders.resting() == [Resting(1, Side.BUY, 14985, 1000, 300), ASK]
    assert orders.changed(change(1, FILLED, 1000)) == 700
    orders.gone(2)
    assert orders.resting() == []


def test_a_fill_seen_before_the_place_answer_is_not_undone() -> None:
    orders = OwnOrders()
    orders.changed(change(1, FILLED, 1000))  # the stream was faster than the REST answer
    orders.placed(BID, NEW)
    assert orders.resting() == []


def test_an_old_message_never_shrinks_what_executed() -> None:
    orders = OwnOrders()
    orders.placed(BID, NEW)
    orders.changed(change(1, PARTIAL, 600))
    assert orders.changed(change(1, PARTIAL, 200)) == 0
    orders.placed(BID, NEW)  # a stale lookup answer
    assert orders.resting()[0].executed == 600


def test_a_list_read_replaces_the_open_orders_but_not_the_finished_ones() -> None:
    orders = OwnOrders()
    orders.placed(BID, NEW)
    orders.changed(change(1, PARTIAL, 500))
    orders.placed(ASK, NEW)
    orders.gone(2, CANCELED)
    stray = Resting(3, Side.BUY, 14000, 50)
    orders.reset([BID, ASK, stray])  # read before the cancel of 2 was settled
    assert orders.resting() == [Resting(1, Side.BUY, 14985, 1000, 500), stray]


def test_an_order_answered_done_is_not_open() -> None:
    orders = OwnOrders()
    orders.placed(BID, OrderStatus.REJECTED)
    orders.placed(BID, NEW)
    assert orders.resting() == []
