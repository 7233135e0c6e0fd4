"""Rate limits (token buckets, per account for orders and per client address for sign-in) and
the request body size limit. Buckets live in this process: with N replicas behind the ingress a
client gets at most N times the rate, which the ingress's own limit bounds."""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cryptex_api.errors import ApiError, Code, body

_MAX_BUCKETS = 100_000  # beyond this, idle buckets are forgotten


class RateLimiter:
    def __init__(self, per_second: float, burst: float) -> None:
        self.rate = per_second
        self.burst = burst
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: object) -> None:
        """Spend one token or raise a 429 with Retry-After (whole seconds)."""
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            retry_after = max(1, math.ceil((1 - tokens) / self.rate))
            raise ApiError(
                429, Code.TOO_MANY_REQUESTS, "too many requests; slow down",
                headers={"Retry-After": str(retry_after)},
            )  # fmt: skip
        if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1, now)


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLargeError:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        import json

        payload = json.dumps(
            body(Code.BODY_TOO_LARGE, f"request body over {self.max_bytes} bytes")
        ).encode()
        await send({
            "type": "http.response.start", "status": 413,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode())],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": payload})


class _BodyTooLargeError(Exception):
    pass
