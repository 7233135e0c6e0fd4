"""One reply subscription per API process: the engines answer each command on this process's
channel, and the request that sent it waits on a future, never longer than its timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque

import msgspec
import redis.asyncio

from cryptex import keys
from cryptex.wire import OrderReply

log = logging.getLogger("cryptex.api.replies")
_decode = msgspec.msgpack.Decoder(list[OrderReply]).decode


class ReplyListener:
    def __init__(self, client: redis.asyncio.Redis, instance: str) -> None:
        self.instance = instance  # what commands carry as reply_to
        self._client = client
        self._waiting: defaultdict[int, deque[asyncio.Future[OrderReply]]] = defaultdict(deque)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self._client.pubsub()
        await pubsub.subscribe(keys.reply_channel(self.instance))
        self._task = asyncio.create_task(self._listen(pubsub), name="replies")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def expect(self, order_id: int) -> asyncio.Future[OrderReply]:
        """Register before sending the command, so no reply can arrive unexpected."""
        future: asyncio.Future[OrderReply] = asyncio.get_running_loop().create_future()
        self._waiting[order_id].append(future)
        return future

    def forget(self, order_id: int, future: asyncio.Future[OrderReply]) -> None:
        waiting = self._waiting.get(order_id)
        if waiting is not None:
            with contextlib.suppress(ValueError):
                waiting.remove(future)
            if not waiting:
                del self._waiting[order_id]

    async def wait(
        self, order_id: int, future: asyncio.Future[OrderReply], timeout_s: float
    ) -> OrderReply | None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the wait ends (a request or shutdown that then hangs). A timeout cancels the
        # future itself, which nothing else awaits, and the listener skips futures that are done.
        try:
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            return None
        finally:
            self.forget(order_id, future)

    async def _listen(self, pubsub: redis.asyncio.client.PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (redis.ConnectionError, redis.TimeoutError):
                log.warning("reply subscription lost, resubscribing")
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            try:
                replies = _decode(message["data"])
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.error("undecodable reply", extra={"channel": self.instance})
                continue
            for reply in replies:
                waiting = self._waiting.get(reply.order_id)
                if waiting:
                    future = waiting.popleft()
                    if not future.done():
                        future.set_result(reply)
