"""One connection's requests: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS and AUTH, handled in
the order they arrive, with the connection's limits (incoming message rate, subscriptions).

Cryptex's streams and Binance's are open on every connection. The path a client connected to
decides only how Binance's are framed and how refusals are numbered: `/stream` wraps each
message `{"stream", "data"}`, any other path sends the payload itself; on `/stream` and
`/ws/<...>` (Binance's paths) a refusal carries Binance's codes (2: invalid request, 3: invalid
JSON), elsewhere Cryptex's. A connection to `/ws/<listenKey>` carries that key's user data
until the key expires or is deleted: then `listenKeyExpired`, and the connection closes.

A bad request gets an error message and the connection stays open; only a client that keeps
sending past its rate limit is disconnected. Nothing a client sends can raise out of here."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Final

import jwt
import redis.asyncio
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.signing import ApiKeyRecords
from cryptex.tokens import Tokens
from cryptex_ws import messages, protocol
from cryptex_ws.balances import BalancePusher
from cryptex_ws.directory import MarketDirectory
from cryptex_ws.errors import Code, RequestError
from cryptex_ws.fanout import NORMAL_CLOSURE, POLICY_VIOLATION, Client, Hub
from cryptex_ws.metrics import DROP_LISTEN_KEY, DROP_RATE_LIMIT, WsMetrics
from cryptex_ws.protocol import Method, Request
from cryptex_ws.settings import WsSettings
from cryptex_ws.snapshots import DepthSnapshots
from cryptex_ws.streams import Kind, Stream, is_binance_name, parse_binance

log = logging.getLogger("cryptex.ws")

RATE_LIMITED: Final = "message rate limit exceeded"
LISTEN_KEY_EXPIRED: Final = "listenKey expired"
# Binance's codes on its stream paths: every refusal of a request is 2, malformed JSON is 3.
BINANCE_INVALID_REQUEST: Final = 2
BINANCE_INVALID_JSON: Final = 3
_KEPT_CODES: Final = frozenset({Code.TOO_MANY_MESSAGES, Code.INTERNAL, Code.UNAUTHORIZED})


class Framing(Enum):
    NATIVE = "native"  # `/`, `/ws`: Cryptex's codes, Binance's streams raw
    RAW = "raw"  # `/ws/<...>`: Binance's codes, its streams raw
    COMBINED = "combined"  # `/stream`: Binance's codes, its streams wrapped {stream, data}


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
    redis: redis.asyncio.Redis
    api_keys: ApiKeyRecords | None  # None: no secret to read HMAC keys with (dev mode)


def parse_stream(name: object, markets: MarketDirectory, framing: Framing) -> Stream:
    """A stream named in a request or in a connection's path, Cryptex's or Binance's."""
    if isinstance(name, str) and is_binance_name(name):
        return parse_binance(name, markets.binance_ids, combined=framing is Framing.COMBINED)
    return Stream.parse(name)


class Session:
    def __init__(
        self, ctx: ServerContext, client: Client, framing: Framing = Framing.NATIVE
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.framing = framing
        self._watch: asyncio.Task[None] | None = None  # a listenKey's expiry watch
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
            if self._watch is not None:
                self._watch.cancel()
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
        await self.process(message)

    async def process(self, message: str | bytes) -> None:
        """One request within the rate limit; nothing it raises leaves here."""
        request_id: protocol.RequestId = None
        try:
            request = protocol.parse_request(message, self.ctx.settings.max_message_bytes)
            request_id = request.id
            await self._dispatch(request)
        except RequestError as refused:
            self._error(refused.request_id, refused.code, refused.msg, malformed=refused.malformed)
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

    def _error(
        self, request_id: protocol.RequestId, code: Code, msg: str, *, malformed: bool = False
    ) -> None:
        self.ctx.metrics.errors.labels(str(int(code))).inc()
        if self.framing is Framing.NATIVE or code in _KEPT_CODES:
            self._reply(protocol.error(request_id, code, msg))
        elif malformed:
            self._reply(protocol.error(request_id, BINANCE_INVALID_JSON, f"Invalid JSON: {msg}"))
        else:
            self._reply(
                protocol.error(request_id, BINANCE_INVALID_REQUEST, f"Invalid request: {msg}")
            )

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
            return list(dict.fromkeys(self.parse(param) for param in request.params))
        except RequestError as refused:
            raise RequestError(refused.code, refused.msg, request.id) from None

    def parse(self, name: object) -> Stream:
        return parse_stream(name, self.ctx.markets, self.framing)

    async def _subscribe(self, request: Request) -> None:
        streams = self._streams(request)
        snapshots = await self.add(streams, request.id)
        if self.client.closed:
            return
        self._reply(protocol.result(request.id))
        for frame in snapshots:
            self.ctx.hub.send_frame(self.client, frame)

    async def add(self, streams: list[Stream], request_id: protocol.RequestId) -> list[bytes]:
        """Subscribe the streams (all or none); the depth snapshots to send after the reply."""
        ctx, client = self.ctx, self.client
        markets: dict[str, MarketSpec] = {}
        for stream in streams:
            if stream.kind.private:
                if client.account is None:
                    raise RequestError(
                        Code.UNAUTHORIZED, f"{stream.name} needs AUTH first", request_id
                    )
            elif stream.market not in markets:
                market = await ctx.markets.market(stream.market)
                if market is None and ctx.markets.unsure(stream.market):
                    # Listed, but Redis is away (or the registry not read yet): not unknown.
                    raise RequestError(
                        Code.INTERNAL, f"{stream.market}: market data unavailable; try again",
                        request_id,
                    )  # fmt: skip
                if market is None:
                    raise RequestError(
                        Code.BAD_SYMBOL, f"unknown market {stream.market}", request_id
                    )
                markets[stream.market] = market
        if client.closed:
            return []
        new = [stream for stream in streams if stream not in client.subscriptions]
        limit = ctx.settings.max_subscriptions
        if len(client.subscriptions) + len(new) > limit:
            raise RequestError(
                Code.TOO_MANY_SUBSCRIPTIONS,
                f"at most {limit} subscriptions per connection; this one has "
                f"{len(client.subscriptions)}",
                request_id,
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
        if client.account is not None and any(s.kind is Kind.BALANCES for s in streams):
            ctx.balances.touch(client.account)
        return snapshots

    def follow_listen_key(self, listen_key: str, account: int) -> None:
        """Carry the listenKey's user data (raw events) until the key is gone from Redis."""
        self.client.account = account
        self.ctx.hub.subscribe(self.client, Stream(Kind.USER_DATA, listen_key=listen_key))
        self._watch = asyncio.get_running_loop().create_task(self._watch_listen_key(listen_key))

    async def _watch_listen_key(self, listen_key: str) -> None:
        """Expired or deleted: `listenKeyExpired`, as Binance sends it, then the connection
        closes (a client asks for a new key and connects again)."""
        interval = self.ctx.settings.listen_key_check_s
        while not self.client.closed:
            await asyncio.sleep(interval)
            try:
                alive = await self.ctx.redis.exists(keys.listen_key(listen_key))
            except (redis.RedisError, OSError) as failure:
                log.warning("cannot check a listenKey", extra={"error": str(failure)})
                continue
            if not alive:
                expired = {"e": "listenKeyExpired", "E": time.time_ns() // 1_000_000,
                           "listenKey": listen_key}  # fmt: skip
                self.ctx.hub.send(self.client, messages.encode(expired))
                self.ctx.hub.flush()  # before the close: dropping forgets what is queued
                self.ctx.hub.drop(self.client, NORMAL_CLOSURE, LISTEN_KEY_EXPIRED, DROP_LISTEN_KEY)
                return

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
