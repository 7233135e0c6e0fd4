"""Liveness, readiness (Redis and PostgreSQL reachable) and Prometheus metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cryptex_api.context import ApiContext, context

router = APIRouter(tags=["operations"])


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.latency = Histogram(
            "cryptex_api_request_seconds", "Request latency by route template and status",
            ["method", "route", "status"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )  # fmt: skip


class MetricsMiddleware:
    """Observe every request under its route template (`/api/v1/order/{order_id}`), so ids
    never become label values. Plain ASGI: Starlette's BaseHTTPMiddleware runs each request in
    a task group of its own, which cost more than the order route itself."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # Routing has put the matched route in the scope by now.
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(ctx: ApiContext = Depends(context)) -> JSONResponse:
    checks = {}
    try:
        checks["redis"] = bool(await ctx.redis.ping())
    except Exception:
        checks["redis"] = False
    try:
        checks["postgres"] = await ctx.db.fetchval("SELECT 1") == 1
    except Exception:
        checks["postgres"] = False
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, 200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
