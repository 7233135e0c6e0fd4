"""Settle hand-made batches straight through the ledger, as an engine would: the command they
answer is queued and delivered first."""

from __future__ import annotations

from typing import cast

import redis

from cryptex import keys
from cryptex.ledger import Ledger, SettleBatch, StreamEntries

StreamReply = list[tuple[bytes, StreamEntries]]  # XREADGROUP's answer: per stream, its entries


class DirectSettler:
    """One market's engine side, without an engine: takes the fence, and settles batches."""

    def __init__(self, ledger: Ledger, client: redis.Redis, symbol: str) -> None:
        self.ledger, self.client, self.symbol = ledger, client, symbol
        self.token = ledger.take_fence(symbol)
        client.xgroup_create(keys.commands(symbol), keys.COMMANDS_GROUP, id="0", mkstream=True)
        self.applied = ""

    def settle(self, batch: SettleBatch, read_next: int = 0) -> StreamEntries:
        """Queue one command, deliver every new one (places queued meanwhile too), and settle
        `batch` as their batch."""
        stream = keys.commands(self.symbol)
        self.client.xadd(stream, {keys.COMMAND_FIELD: b"-"})
        [(_, entries)] = cast(
            StreamReply,
            self.client.xreadgroup(keys.COMMANDS_GROUP, keys.ENGINE_CONSUMER, {stream: ">"}),
        )
        ids = [entry_id.decode() for entry_id, _ in entries]
        batch.acks += ids
        delivered = self.ledger.settle(
            self.symbol, self.token, self.applied, ids[-1], batch, b"",
            first_command_id=ids[0], read_next=read_next,
        )  # fmt: skip
        self.applied = ids[-1]
        return delivered
