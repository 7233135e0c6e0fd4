"""The private WebSocket streams: `orders@me` and `balances@me`, after AUTH with the bot's token.

It reconnects for ever (backing off), signs in again when the server refuses or expires the
token, and tells the bot each time it is subscribed afresh: whatever happened while it was away
must then be read again over REST. Messages are handed over as parsed JSON; what they mean is
the bot's business."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from cryptex_mm.backoff import Backoff
from cryptex_mm.client import UNAUTHORIZED, ApiError, RestClient, UnavailableError
from cryptex_mm.metrics import MmMetrics
from cryptex_mm.settings import MmSettings

log = logging.getLogger("cryptex.mm.stream")

STREAMS: Final = ["orders@me", "balances@me"]
_REPLY_TIMEOUT_S: Final = 10.0
_AUTH_ATTEMPTS: Final = 3
_CLOSE_TIMEOUT_S: Final = 2.0  # then the TCP connection is dropped


class StreamError(Exception):
    """The server answered a request with an error (other than a refused token)."""


# What ends a connection and is tried again: the network, the server, the API for a token.
_LOST = (
    OSError, TimeoutError, ValueError, InvalidHandshake, WebSocketException, StreamError,
    ApiError, UnavailableError,
)  # fmt: skip


class PrivateStream:
    def __init__(
        self, settings: MmSettings, rest: RestClient, metrics: MmMetrics, rng: random.Random,
        *, on_order: Callable[[dict[str, Any]], None],
        on_balances: Callable[[list[dict[str, Any]]], None],
        on_subscribed: Callable[[], None],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.rest = rest
        self.metrics = metrics
        self.backoff = Backoff(rng, settings.backoff_base_s, settings.backoff_cap_s)
        self.on_order = on_order
        self.on_balances = on_balances
        self.on_subscribed = on_subscribed
        self._ids = 0

    async def run(self) -> None:
        """Connected and subscribed as much as possible, until cancelled."""
        while True:
            try:
                async with connect(
                    self.settings.ws_url, open_timeout=self.settings.request_timeout_s,
                    close_timeout=_CLOSE_TIMEOUT_S, max_size=2**22,
                ) as ws:  # fmt: skip
                    await self._subscribe(ws)
                    self.backoff.reset()
                    await self._read(ws)
                self.metrics.errors.labels("stream").inc()
                log.warning("private streams closed by the server")
            except _LOST as e:
                self.metrics.errors.labels("stream").inc()
                log.warning("private streams lost", extra={"error": repr(e)})
            finally:
                self.metrics.stream_up.set(0)
            await asyncio.sleep(self.backoff.next())

    async def _subscribe(self, ws: ClientConnection) -> None:
        for attempt in range(_AUTH_ATTEMPTS):
            token = await self.rest.token()
            reply = await self._request(ws, "AUTH", [token])
            if "error" not in reply:
                break
            if reply["error"].get("code") != UNAUTHORIZED or attempt == _AUTH_ATTEMPTS - 1:
                raise StreamError(f"AUTH: {reply['error']}")
            self.metrics.errors.labels("unauthorized").inc()
            await self.rest.refresh(token)
        reply = await self._request(ws, "SUBSCRIBE", STREAMS)
        if "error" in reply:
            raise StreamError(f"SUBSCRIBE: {reply['error']}")
        self.metrics.stream_up.set(1)
        log.info("private streams subscribed")
        self.on_subscribed()

    async def _request(self, ws: ClientConnection, method: str, params: list[str]) -> Any:
        """Send one request and wait for its reply; stream messages that come first are handled
        as they would be later."""
        self._ids += 1
        request_id = self._ids
        await ws.send(json.dumps({"method": method, "params": params, "id": request_id}))
        async with asyncio.timeout(_REPLY_TIMEOUT_S):
            while True:
                message = json.loads(await ws.recv())
                if isinstance(message, dict) and message.get("id") == request_id:
                    return message
                await self._handle(ws, message)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            await self._handle(ws, json.loads(raw))

    async def _handle(self, ws: ClientConnection, message: Any) -> None:
        if not isinstance(message, dict):
            return
        stream, data = message.get("stream"), message.get("data")
        if stream == "orders@me" and isinstance(data, dict):
            self.on_order(data)
        elif stream == "balances@me" and isinstance(data, list):
            self.on_balances(data)
        elif message.get("id") is None and isinstance(message.get("error"), dict):
            error = message["error"]
            if error.get("code") == UNAUTHORIZED:
                # The token expired: private streams ended until a new AUTH.
                log.info("stream token expired, signing in again")
                self.metrics.stream_up.set(0)
                await self._subscribe(ws)
            else:
                log.warning("stream error", extra={"error": error})
