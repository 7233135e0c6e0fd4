"""The read-orders script's contract: many order records' fields in one call. Pure.

Its keys are the records and its arguments the field names, both lists of any length, so
neither is named; callers read in chunks of `READ_ORDERS_CHUNK`, so that no call holds Redis
for long. Like the ledger's scripts, it needs the order records on one Redis primary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript

READ_ORDERS_CHUNK: Final = 1_000


class _Unnamed(NamedTuple):
    pass


READ_ORDERS: Final = LuaScript("read_orders", _Unnamed, _Unnamed)


def read_orders_call(order_ids: Sequence[int], fields: Sequence[str]) -> Call:
    """One call for at most `READ_ORDERS_CHUNK` orders; its reply is a msgpack array with, per
    order, the fields' values as strings (or 0 for a missing record)."""
    if len(order_ids) > READ_ORDERS_CHUNK:
        raise ValueError(f"at most {READ_ORDERS_CHUNK} orders a call")
    return READ_ORDERS.call(_Unnamed(), _Unnamed(), [keys.order(i) for i in order_ids], fields)
