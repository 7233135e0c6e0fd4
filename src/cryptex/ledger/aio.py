"""`AsyncLedger`: the trader and admin side of the ledger over one asyncio Redis client (the
API). Places go through a `ScriptBatcher`: one pipeline per event-loop turn."""

from __future__ import annotations

from typing import Any

import redis.asyncio
from redis.commands.core import AsyncScript

from cryptex import keys
from cryptex.ledger.batcher import ScriptBatcher
from cryptex.ledger.cancel import CANCEL, CancelResult, cancel_call, cancel_result
from cryptex.ledger.place import PLACE, PlaceResult, place_call, place_result
from cryptex.ledger.records import Balance, OrderRecord, balances_from, id_block
from cryptex.ledger.scripts import Call
from cryptex.ledger.transfer import (
    TRANSFER,
    TransferResult,
    deposit_call,
    transfer_result,
    withdrawal_call,
)
from cryptex.markets import MarketSpec
from cryptex.wire import AmendOrder, CancelOrder, PlaceOrder, RejectReason


class AsyncLedger:
    """The trader and admin side of the ledger over one asyncio Redis client (the API)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.redis = client
        self._place = ScriptBatcher(client, PLACE)
        self._cancel = client.register_script(CANCEL.source)
        self._transfer = client.register_script(TRANSFER.source)

    async def place(self, market: MarketSpec, command: PlaceOrder) -> PlaceResult:
        command, call = place_call(market, command)
        return place_result(command, await self._place(call))

    async def request_cancel(
        self, order_id: int, account: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        return await self._queue(CancelOrder(order_id, account, ts, reply_to))

    async def request_amend(
        self, order_id: int, account: int, quantity: int, ts: int, reply_to: str = ""
    ) -> CancelResult:
        """Queue an amend of an open order of the account's to `quantity` lots (its new whole
        quantity); refused as a cancel would be."""
        return await self._queue(AmendOrder(order_id, account, quantity, ts, reply_to))

    async def _queue(self, command: CancelOrder | AmendOrder) -> CancelResult:
        market = await self.redis.hget(keys.order(command.order_id), "market")
        if market is None:
            return CancelResult(False, RejectReason.UNKNOWN_ORDER)
        return cancel_result(await _run(self._cancel, cancel_call(market, command)))

    async def allocate_order_ids(self, count: int) -> range:
        return id_block(int(await self.redis.incrby(keys.ORDER_IDS, count)), count)

    async def deposit(
        self, account: int, asset: str, units: int, reference: str, ts: int
    ) -> TransferResult:
        call = deposit_call(account, asset, units, reference, ts)
        return transfer_result(await _run(self._transfer, call))

    async def withdraw(
        self, account: int, asset: str, units: int, reference: str, ts: int
    ) -> TransferResult:
        call = withdrawal_call(account, asset, units, reference, ts)
        return transfer_result(await _run(self._transfer, call))

    async def balances(self, account: int) -> dict[str, Balance]:
        return balances_from(await self.redis.hgetall(keys.balances(account)))

    async def order(self, order_id: int) -> OrderRecord | None:
        fields = await self.redis.hgetall(keys.order(order_id))
        return OrderRecord.from_fields(fields) if fields else None

    async def open_orders(self, account: int) -> list[OrderRecord]:
        """The account's open orders, oldest first."""
        ids = sorted(int(i) for i in await self.redis.smembers(keys.open_orders(account)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for order_id in ids:
                pipe.hgetall(keys.order(order_id))
            rows = await pipe.execute()
        return [OrderRecord.from_fields(row) for row in rows if row]


async def _run(script: AsyncScript, call: Call) -> Any:
    return await script(keys=call.keys, args=call.args)
