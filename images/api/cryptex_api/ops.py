"""Liveness, readiness (Redis and PostgreSQL reachable) and Prometheus metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

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


class MetricsMiddleware(BaseHTTPMiddleware):
    """Observe every request under its route template (`/api/v1/order/{order_id}`), so ids
    never become label values."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # Routing has put the matched route in the scope by now.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics: ApiMetrics = request.app.state.metrics
        metrics.latency.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


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
