"""Calls of one script made in the same event-loop turn, sent to Redis as one pipeline."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions

from cryptex.ledger.scripts import Call


class Script(Protocol):
    """A Lua script as the batcher sends it: its text, and the SHA1 that SCRIPT LOAD answers
    (a ledger `LuaScript`, or another module's own script)."""

    @property
    def source(self) -> str: ...

    @property
    def sha(self) -> str: ...


class ScriptBatcher:
    """Calls of one script made in the same event-loop turn go to Redis as one pipeline: one
    connection from the pool, one write, and Redis runs them in one pass of its event loop, so
    under `appendfsync always` they share one fsync of the AOF instead of taking one each.

    Each turn's batch is sent by a task of its own: a caller that is cancelled while it waits
    abandons only its own answer, never the batch. Every call is answered: with its reply, or
    with the error the batch met (a lost connection fails the whole batch)."""

    def __init__(self, client: redis.asyncio.Redis, script: Script) -> None:
        self._client = client
        self._script = script
        self._waiting: list[tuple[Call, asyncio.Future[Any]]] = []
        self._senders: set[asyncio.Task[None]] = set()  # held so none is collected mid-send

    async def __call__(self, call: Call) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((call, future))
        if len(self._waiting) == 1:  # the first of this turn: the rest join until it starts
            sender = loop.create_task(self._send())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await future

    async def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            replies = await self._evalsha([call for call, _ in batch])
            unknown = [i for i, reply in enumerate(replies) if _is_noscript(reply)]
            if unknown:  # Redis restarted or flushed its scripts: load once, send those again
                await self._client.script_load(self._script.source)
                resent = await self._evalsha([batch[i][0] for i in unknown])
                for i, reply in zip(unknown, resent, strict=True):
                    replies[i] = reply
        except Exception as error:  # the connection failed: nobody's answer is known
            replies = [error] * len(batch)
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _evalsha(self, calls: list[Call]) -> list[Any]:
        sha = self._script.sha
        async with self._client.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command("EVALSHA", sha, len(call.keys), *call.keys, *call.args)
            return list(await pipe.execute(raise_on_error=False))


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, redis.exceptions.NoScriptError)
