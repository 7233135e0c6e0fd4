"""The FastAPI application: routes, error handlers, limits, CORS, the web app's files, and the
resources one process shares (built in the lifespan, closed at shutdown)."""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.exceptions
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException

from cryptex import db
from cryptex.ledger import AsyncLedger
from cryptex.redis_access import connect_async
from cryptex.settings import ApiSettings
from cryptex.tokens import Tokens
from cryptex_api import accounts, admin, apikeys, errors, market_data, ops, orders, own_trades, web
from cryptex_api.binance import rest as binance_rest
from cryptex_api.binance import user_stream as binance_user_stream
from cryptex_api.binance.limits import RequestWeights
from cryptex_api.context import ApiContext, MarketCache, OrderIdAllocator
from cryptex_api.limits import BodySizeLimit, RateLimiter
from cryptex_api.replies import ReplyListener
from cryptex_api.security import hash_password

log = logging.getLogger("cryptex.api")


async def _ensure_admin(pool: asyncpg.Pool, email: str, password: str) -> None:
    password_hash = await hash_password(password)
    await pool.execute(
        """INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'admin')
           ON CONFLICT (email) DO UPDATE SET password_hash = $2, role = 'admin'""",
        email.lower(), password_hash,
    )  # fmt: skip


def create_app(settings: ApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = connect_async(settings.redis_url)
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=10)
        applied = await db.migrate(pool)
        if applied:
            log.info("migrations applied", extra={"migrations": applied})
        if settings.bootstrap_admin_email:
            await _ensure_admin(
                pool, settings.bootstrap_admin_email, settings.bootstrap_admin_password
            )
        ledger = AsyncLedger(client)
        replies = ReplyListener(client, settings.instance)
        await replies.start()
        # Dev mode without a secret: a random one, so tokens die with the process.
        secret = settings.jwt_secret or secrets.token_urlsafe(48)
        app.state.context = ApiContext(
            settings=settings,
            redis=client,
            db=pool,
            ledger=ledger,
            replies=replies,
            tokens=Tokens(secret, settings.jwt_ttl_s),
            markets=MarketCache(client),
            order_ids=OrderIdAllocator(ledger),
            order_limiter=RateLimiter(settings.orders_per_second, 2 * settings.orders_per_second),
            login_limiter=RateLimiter(settings.logins_per_minute / 60, settings.logins_per_minute),
            api_keys=apikeys.ApiKeys(client, settings.api_key_encryption_secret or secret),
            request_weights=RequestWeights(settings.request_weight_per_minute),
        )
        # Everything built so far lives as long as the process: out of the collector's sight,
        # so its full collections walk only what requests allocate (shorter pauses).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await replies.stop()
            await pool.close()
            await client.aclose()

    app = FastAPI(
        title="Cryptex",
        version="0.1.0",
        summary="A real-time crypto exchange: exact integer money, one engine per market.",
        description=(
            "Amounts are decimal strings (numbers are accepted and taken exactly as written). "
            'Errors are `{"code": int, "msg": str}`. Authenticate with the bearer token '
            "from `POST /api/v1/signin`."
        ),
        lifespan=lifespan,
        # Metrics are Prometheus's (/metrics) and logs are JSON lines; FastAPI's OpenTelemetry
        # bridge is unused, and asking whether a tracer was configured cost ~5% of a request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.metrics = ops.ApiMetrics(CollectorRegistry())
    # Routes are matched in this order: the two order routes, native and Binance's, come early.
    for router in (
        accounts.router, orders.router, binance_rest.router, apikeys.router, market_data.router,
        own_trades.router, binance_user_stream.router, admin.router, ops.router,
    ):  # fmt: skip
        app.include_router(router)
    web.mount(app, settings)  # after the API's routes: its fallback answers only what they do not
    app.add_exception_handler(errors.ApiError, errors.api_error)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    for unreachable in (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        app.add_exception_handler(unreachable, errors.store_unavailable)
    app.add_middleware(ops.MetricsMiddleware, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )  # fmt: skip
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
