"""One engine batch's changes to the ledger, collected by the engine's settlement and sent to
the settle script in one call. Pure: no Redis, no clock."""

from __future__ import annotations

from typing import Any

from cryptex import keys
from cryptex.wire import encode


class SettleBatch:
    """Everything one engine batch changes, in the layout of settle.lua's batch text.

    Balance moves are summed per (account, field) so each appears once and the script can check
    that none ends negative before it writes anything."""

    def __init__(self) -> None:
        self.acks: list[str] = []
        self._moves: dict[tuple[int, str], int] = {}
        self._records: dict[int, dict[str, str]] = {}
        self._open: dict[tuple[int, int], bool] = {}  # (account, order id) -> add or remove
        self.publishes: list[tuple[str, bytes]] = []
        self.trades: list[bytes] = []

    def move(self, account: int, field: str, delta: int) -> None:
        if delta:
            key = (account, field)
            self._moves[key] = self._moves.get(key, 0) + delta

    def update_order(self, order_id: int, **fields: object) -> None:
        record = self._records.setdefault(order_id, {})
        for name, value in fields.items():
            record[name] = str(value)

    def open_order(self, account: int, order_id: int, is_open: bool) -> None:
        self._open[(account, order_id)] = is_open

    def publish(self, channel: str, message: bytes) -> None:
        self.publishes.append((channel, message))

    def script_args(self, first_key: int) -> tuple[list[str], bytes, list[Any]]:
        """(the keys the batch names, the batch's text, the binary messages after the named
        arguments); key indexes count from `first_key` (1-based). Amounts and ids travel as
        decimal text: Lua numbers are doubles, and a large one would reach HINCRBY in
        exponent form."""
        extra_keys: list[str] = []
        index: dict[str, int] = {}

        def key_index(key: str) -> int:
            if key not in index:
                index[key] = first_key + len(extra_keys)
                extra_keys.append(key)
            return index[key]

        moves = [
            [key_index(keys.balances(account)), field, keys.asset_of_field(field), str(delta)]
            for (account, field), delta in self._moves.items()
            if delta
        ]
        records = [
            [key_index(keys.order(order_id)), [part for pair in fields.items() for part in pair]]
            for order_id, fields in self._records.items()
        ]
        open_sets = [
            [key_index(keys.open_orders(account)), key_index(keys.open_order_counts(account)),
             1 if is_open else 0, str(order_id)]
            for (account, order_id), is_open in self._open.items()
        ]  # fmt: skip
        messages: list[Any] = [len(self.publishes)]
        for channel, message in self.publishes:
            messages += (channel, message)
        messages.append(len(self.trades))
        messages += self.trades
        return extra_keys, encode([self.acks, moves, records, open_sets]), messages
