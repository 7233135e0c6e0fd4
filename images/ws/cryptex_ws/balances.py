"""`balances@me`: after an order update of an account that someone watches, its balances hash is
read and sent to each of its `balances@me` subscribers.

Debounced: accounts touched within one window (`debounce_s`) are read together when it ends, so a
burst of updates costs one read and sends one message per connection. Every read starts after
the update that caused it was published, and the settle script writes balances and publishes in
one atomic step: what is sent is never older than the update."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import redis.asyncio

from cryptex.ledger import AsyncLedger
from cryptex.markets import AssetSpec
from cryptex_ws import messages
from cryptex_ws.fanout import Hub, text_frame
from cryptex_ws.streams import Kind, Stream

log = logging.getLogger("cryptex.ws")

STREAM = Stream(Kind.BALANCES).name


class BalancePusher:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        hub: Hub,
        assets: Callable[[], Mapping[str, AssetSpec]],
        debounce_s: float,
    ) -> None:
        self._ledger = AsyncLedger(client)
        self._hub = hub
        self._assets = assets
        self._debounce_s = debounce_s
        self._touched: set[int] = set()
        self._wake = asyncio.Event()

    def touch(self, account: int) -> None:
        self._touched.add(account)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._debounce_s)
            self._wake.clear()  # touches from here on make the next round
            accounts, self._touched = self._touched, set()
            for account in sorted(accounts):
                try:
                    await self._push(account)
                except (redis.RedisError, OSError) as error:
                    log.warning(
                        "cannot read balances", extra={"account": account, "error": str(error)}
                    )

    async def _push(self, account: int) -> None:
        if not self._hub.account_subscribers(Kind.BALANCES, account):
            return
        held = await self._ledger.balances(account)
        payload = messages.envelope(STREAM, messages.balances(self._assets(), held))
        # Read again after the await: someone may have unsubscribed meanwhile.
        subscribers = self._hub.account_subscribers(Kind.BALANCES, account)
        if subscribers:
            self._hub.publish(subscribers, [text_frame(payload)])
