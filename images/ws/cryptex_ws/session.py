"""One connection's requests: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS and AUTH, handled in
the order they arrive, with the connection's limits (incoming message rate, subscriptions).

A bad request gets an error message and the connection stays open; only a client that keeps
sending past its rate limit is disconnected. Nothing a client sends can raise out of here."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Final

import jwt
import redis.asyncio
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from cryptex.markets import MarketSpec
from cryptex.tokens import Tokens
from cryptex_ws import protocol
from cryptex_ws.balances import BalancePusher
from cryptex_ws.directory import MarketDirectory
from cryptex_ws.errors import Code, RequestError
from cryptex_ws.fanout import POLICY_VIOLATION, Client, Hub
from cryptex_ws.metrics import DROP_RATE_LIMIT, WsMetrics
from cryptex_ws.protocol import Method, Request
from cryptex_ws.settings import WsSettings
from cryptex_ws.snapshots import DepthSnapshots
from cryptex_ws.streams import Kind, Stream

log = logging.getLogger("cryptex.ws")

RATE_LIMITED: Final = "message rate limit exceeded"


@dataclass
class ServerContext:
    """What every connection of one process shares; built once by `server.run`."""

    settings: WsSettings
    hub: Hub
    markets: MarketDirectory
    snapshots: DepthSnapshots
    balances: BalancePusher
    tokens: Tokens | None  # None: no JWT secret (dev mode), AUTH is refused
    metrics: WsMetrics


class Session:
    def __init__(self, ctx: ServerContext, client: Client) -> None:
        self.ctx = ctx
        self.client = client
        settings = ctx.settings
        self._rate = settings.messages_per_second
        self._burst = settings.message_burst
        self._allowance = float(settings.message_burst)
        self._allowance_at = time.monotonic()
        self._refused = 0  # messages refused in a row
        self._expiry: asyncio.TimerHandle | None = None

    async def run(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                await self.handle(message)
        except ConnectionClosed:
            pass
        finally:
            if self._expiry is not None:
                self._expiry.cancel()
            self.ctx.hub.remove(self.client)

    async def handle(self, message: str | bytes) -> None:
        if self.client.closed:
            return
        if not self._allow():
            self._refused += 1
            if self._refused > self._burst:
                self.ctx.hub.drop(self.client, POLICY_VIOLATION, RATE_LIMITED, DROP_RATE_LIMIT)
            else:
                self._error(
                    None, Code.TOO_MANY_MESSAGES,
                    f"too many messages: at most {self._rate:g} a second",
                )  # fmt: skip
            return
        self._refused = 0
        request_id: protocol.RequestId = None
        try:
            request = protocol.parse_request(message, self.ctx.settings.max_message_bytes)
            request_id = request.id
            await self._dispatch(request)
        except RequestError as refused:
            self._error(refused.request_id, refused.code, refused.msg)
        except (redis.RedisError, OSError) as failure:
            log.warning("redis unavailable for a request", extra={"error": str(failure)})
            self._error(request_id, Code.INTERNAL, "market data unavailable; try again")
        except Exception:
            log.exception("request failed", extra={"client": self.client.id})
            self._error(request_id, Code.INTERNAL, "internal error")

    def _allow(self) -> bool:
        now = time.monotonic()
        self._allowance = min(
            float(self._burst), self._allowance + (now - self._allowance_at) * self._rate
        )
        self._allowance_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def _reply(self, payload: bytes) -> None:
        self.ctx.hub.send(self.client, payload)

    def _error(self, request_id: protocol.RequestId, code: Code, msg: str) -> None:
        self.ctx.metrics.errors.labels(str(int(code))).inc()
        self._reply(protocol.error(request_id, code, msg))

    async def _dispatch(self, request: Request) -> None:
        if request.method is Method.SUBSCRIBE:
            await self._subscribe(request)
        elif request.method is Method.UNSUBSCRIBE:
            for stream in self._streams(request):
                self.ctx.hub.unsubscribe(self.client, stream)
            self._reply(protocol.result(request.id))
        elif request.method is Method.LIST_SUBSCRIPTIONS:
            if request.params:
                raise RequestError(
                    Code.ILLEGAL_PARAMETER, "params: LIST_SUBSCRIPTIONS takes none", request.id
                )
            names = sorted(stream.name for stream in self.client.subscriptions)
            self._reply(protocol.result(request.id, names))
        else:
            self._auth(request)

    def _streams(self, request: Request) -> list[Stream]:
        if not request.params:
            raise RequestError(
                Code.MANDATORY_PARAMETER, "params: name at least one stream", request.id
            )
        try:
            return list(dict.fromkeys(Stream.parse(param) for param in request.params))
        except RequestError as refused:
            raise RequestError(refused.code, refused.msg, request.id) from None

    async def _subscribe(self, request: Request) -> None:
        ctx, client = self.ctx, self.client
        streams = self._streams(request)
        markets: dict[str, MarketSpec] = {}
        for stream in streams:
            if stream.kind.private:
                if client.account is None:
                    raise RequestError(
                        Code.UNAUTHORIZED, f"{stream.name} needs AUTH first", request.id
                    )
            elif stream.market not in markets:
                market = await ctx.markets.market(stream.market)
                if market is None:
                    raise RequestError(
                        Code.BAD_SYMBOL, f"unknown market {stream.market}", request.id
                    )
                markets[stream.market] = market
        if client.closed:
            return
        new = [stream for stream in streams if stream not in client.subscriptions]
        limit = ctx.settings.max_subscriptions
        if len(client.subscriptions) + len(new) > limit:
            raise RequestError(
                Code.TOO_MANY_SUBSCRIPTIONS,
                f"at most {limit} subscriptions per connection; this one has "
                f"{len(client.subscriptions)}",
                request.id,
            )
        for stream in new:
            ctx.hub.subscribe(client, stream)
        # Registered first, read second: every diff after the snapshot's lastUpdateId reaches
        # this client (Redis writes the snapshot and publishes its diff in one atomic script).
        try:
            snapshots = [
                await ctx.snapshots.frame(markets[stream.market])
                for stream in streams
                if stream.kind is Kind.DEPTH
            ]
        except (redis.RedisError, OSError):
            for stream in new:
                ctx.hub.unsubscribe(client, stream)
            raise
        self._reply(protocol.result(request.id))
        for frame in snapshots:
            ctx.hub.send_frame(client, frame)
        if client.account is not None and any(s.kind is Kind.BALANCES for s in streams):
            ctx.balances.touch(client.account)

    def _auth(self, request: Request) -> None:
        if len(request.params) != 1 or not isinstance(request.params[0], str):
            raise RequestError(Code.ILLEGAL_PARAMETER, 'params: ["<token>"]', request.id)
        token = request.params[0]
        if self.ctx.tokens is None:
            raise RequestError(
                Code.UNAUTHORIZED, "private streams are off: this server has no JWT secret",
                request.id,
            )  # fmt: skip
        principal = self.ctx.tokens.verify(token)
        if principal is None:
            raise RequestError(Code.UNAUTHORIZED, "invalid or expired token", request.id)
        client = self.client
        if client.account is not None and client.account != principal.account:
            raise RequestError(
                Code.UNAUTHORIZED,
                "this connection is authenticated as another account: open a new one",
                request.id,
            )
        client.account = principal.account
        # Verified above, so its own expiry can be read without checking it again.
        expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
        if self._expiry is not None:
            self._expiry.cancel()
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(max(0.0, expires - time.time()), self._expire)
        log.info("authenticated", extra={"client": client.id, "account": principal.account})
        self._reply(protocol.result(request.id, {"accountId": principal.account}))

    def _expire(self) -> None:
        """The token's time is up: its private streams end until a new AUTH."""
        client = self.client
        if client.closed:
            return
        for stream in [s for s in client.subscriptions if s.kind.private]:
            self.ctx.hub.unsubscribe(client, stream)
        client.account = None
        self._error(
            None, Code.UNAUTHORIZED, "token expired: private streams ended; AUTH again to resume"
        )
