"""What every request of one API process shares: clients, caches, limiters. Built once in the
app's lifespan and handed to routes through `Depends(context)`; no module-level clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import asyncpg
import redis.asyncio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from cryptex import keys, registry
from cryptex.ledger import AsyncLedger
from cryptex.markets import AssetSpec, MarketError, MarketSpec, canonical_symbol
from cryptex.settings import ApiSettings
from cryptex.tokens import Principal, Tokens
from cryptex_api.errors import ApiError, Code, bad_request
from cryptex_api.limits import RateLimiter
from cryptex_api.replies import ReplyListener

if TYPE_CHECKING:
    from cryptex_api.apikeys import ApiKeys
    from cryptex_api.binance.limits import RequestWeights

_MARKETS_TTL_S: Final = 2.0  # how stale the listed markets may be (new listings, states)
_ORDER_ID_BLOCK: Final = 1_000


class MarketCache:
    """The registry's markets, refreshed when older than a couple of seconds."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._markets: dict[str, MarketSpec] = {}
        self._loaded_at = -_MARKETS_TTL_S
        self._lock = asyncio.Lock()
        self._indexes: dict[Callable[[MarketSpec], str], tuple[object, dict[str, MarketSpec]]] = {}

    async def all(self) -> dict[str, MarketSpec]:
        if time.monotonic() - self._loaded_at >= _MARKETS_TTL_S:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= _MARKETS_TTL_S:
                    raw = await self._client.hgetall(keys.MARKETS)
                    self._markets = registry.parse_all(raw)
                    self._loaded_at = time.monotonic()
        return self._markets

    async def by(self, name: Callable[[MarketSpec], str]) -> dict[str, MarketSpec]:
        """The listed markets by another name of theirs (`name(market)`), built once a refresh."""
        markets = await self.all()
        index = self._indexes.get(name)
        if index is None or index[0] is not markets:
            index = (markets, {name(market): market for market in markets.values()})
            self._indexes[name] = index
        return index[1]

    async def get(self, symbol: str) -> MarketSpec:
        try:
            canonical = canonical_symbol(symbol)
        except MarketError as error:
            raise bad_request(Code.BAD_SYMBOL, str(error)) from None
        market = (await self.all()).get(canonical)
        if market is None:
            raise bad_request(Code.BAD_SYMBOL, f"unknown market {canonical}")
        return market

    async def assets(self) -> dict[str, AssetSpec]:
        found: dict[str, AssetSpec] = {}
        for market in (await self.all()).values():
            found[market.base.symbol] = market.base
            found[market.quote.symbol] = market.quote
        return found


class OrderIdAllocator:
    """Order ids from blocks reserved in Redis: unique across every API process, one Redis
    round trip per thousand orders."""

    def __init__(self, ledger: AsyncLedger) -> None:
        self._ledger = ledger
        self._block: range = range(0)
        self._next = 0
        self._lock = asyncio.Lock()

    async def next(self) -> int:
        if self._next >= len(self._block):
            async with self._lock:
                if self._next >= len(self._block):
                    self._block = await self._ledger.allocate_order_ids(_ORDER_ID_BLOCK)
                    self._next = 0
        order_id = self._block[self._next]
        self._next += 1
        return order_id


@dataclass
class ApiContext:
    settings: ApiSettings
    redis: redis.asyncio.Redis
    db: asyncpg.Pool
    ledger: AsyncLedger
    replies: ReplyListener
    tokens: Tokens
    markets: MarketCache
    order_ids: OrderIdAllocator
    order_limiter: RateLimiter
    login_limiter: RateLimiter
    api_keys: ApiKeys
    request_weights: RequestWeights


# The dependencies are coroutines on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, and that hop cost more than everything else an order does in this process.


async def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/signin")


def authenticate(ctx: ApiContext, token: str | None) -> Principal:
    """The account a bearer token stands for, or 401."""
    if not token:
        raise ApiError(401, Code.UNAUTHORIZED, "missing bearer token",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    found = ctx.tokens.verify(token)
    if found is None:
        raise ApiError(401, Code.UNAUTHORIZED, "invalid or expired token",
                       headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, read as FastAPI's HTTPBearer
    reads it; None for a missing header or another scheme."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" and token else None


async def principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: ApiContext = Depends(context),
) -> Principal:
    return authenticate(ctx, credentials.credentials if credentials else None)


async def admin(who: Principal = Depends(principal)) -> Principal:
    if not who.is_admin:
        raise ApiError(403, Code.FORBIDDEN, "admin role required")
    return who
