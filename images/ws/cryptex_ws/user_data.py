"""Binance's user data events: an `executionReport` for each order update of an account that
someone follows on `/ws/<listenKey>` or `/ws-api/v3`, then one `outboundAccountPosition` with
the balances of the assets those updates touched.

An update does not carry what Binance reports of an order's terms (client order id, type,
price, quantity): those come from the order's record, read with the balances in one pipeline
per round. Updates wait in one queue, so each account's events keep their order; the feed only
queues, it never waits on Redis for this. Every read starts after the update was published, and
the settle script writes and publishes in one atomic step: balances are never older than the
update."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Final

import redis.asyncio

from cryptex import keys
from cryptex.ledger.records import OrderRecord, balances_from
from cryptex.markets import AssetSpec, MarketSpec
from cryptex.wire import OrderUpdate
from cryptex_ws import binance_messages, messages
from cryptex_ws.fanout import Client, Hub, text_frame
from cryptex_ws.streams import Kind

log = logging.getLogger("cryptex.ws")

SUBSCRIPTION_ID: Final = 0  # one user data subscription per WebSocket API connection
_KINDS: Final = (Kind.USER_DATA, Kind.USER_DATA_API)
_encode = messages.encode


def api_event(event: dict[str, object]) -> bytes:
    """An event as the WebSocket API wraps it."""
    return _encode({"subscriptionId": SUBSCRIPTION_ID, "event": event})


class UserDataPusher:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        hub: Hub,
        assets: Callable[[], Mapping[str, AssetSpec]],
        now_ms: Callable[[], int],
    ) -> None:
        self._client = client
        self._hub = hub
        self._assets = assets
        self._now_ms = now_ms
        self._queue: list[tuple[MarketSpec, OrderUpdate]] = []
        self._wake = asyncio.Event()

    def followed(self, account: int) -> bool:
        hub = self._hub
        return any(hub.account_subscribers(kind, account) for kind in _KINDS)

    def push(self, market: MarketSpec, update: OrderUpdate) -> None:
        self._queue.append((market, update))
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            queued, self._queue = self._queue, []
            try:
                await self._send(queued)
            except (redis.RedisError, OSError) as error:
                log.warning("cannot read orders for user data", extra={"error": str(error)})

    async def _send(self, queued: list[tuple[MarketSpec, OrderUpdate]]) -> None:
        order_ids = sorted({update.order_id for _, update in queued})
        accounts = sorted({update.account for _, update in queued})
        async with self._client.pipeline(transaction=False) as pipe:
            for order_id in order_ids:
                pipe.hgetall(keys.order(order_id))
            for account in accounts:
                pipe.hgetall(keys.balances(account))
            rows = await pipe.execute()
        records = {
            order_id: OrderRecord.from_fields(row)
            for order_id, row in zip(order_ids, rows, strict=False)
            if row
        }
        held = {
            account: balances_from(row)
            for account, row in zip(accounts, rows[len(order_ids) :], strict=True)
        }
        now, assets = self._now_ms(), self._assets()
        touched: dict[int, tuple[set[str], int]] = {}  # account -> (assets, last update time)
        for market, update in queued:
            record = records.get(update.order_id)
            if record is None:
                continue  # an order record is never deleted; a missing one is not ours to show
            self._publish(update.account, binance_messages.execution_report(
                market, update, record, now
            ))  # fmt: skip
            changed, _ = touched.get(update.account, (set(), 0))
            changed.update((market.base.symbol, market.quote.symbol))
            touched[update.account] = (changed, update.ts)
        for account, (changed, updated) in touched.items():
            self._publish(account, binance_messages.account_position(
                assets, held[account], changed, updated, now
            ))  # fmt: skip

    def _publish(self, account: int, event: dict[str, object]) -> None:
        hub = self._hub
        raw: set[Client] | None = hub.account_subscribers(Kind.USER_DATA, account)
        if raw:
            hub.publish(raw, [text_frame(_encode(event))])
        api = hub.account_subscribers(Kind.USER_DATA_API, account)
        if api:
            hub.publish(api, [text_frame(api_event(event))])
