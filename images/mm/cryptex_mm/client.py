"""The REST client: the public API over aiohttp, with the bot's bearer token.

- Signs in (and up, once, if asked), and again when the token is about to expire or a request
  answers 401; concurrent callers share one sign-in.
- Retries what may succeed later: no connection, a timeout, a 5xx, a 429. Delays grow
  exponentially with seeded jitter, and a 429 holds back every request of its kind (orders,
  sign-ins, the rest) for at least its `Retry-After`. After `max_retries` the failure is raised:
  the caller reads the state again before it decides anything new.
- Never retries a 4xx: a refusal is an `ApiError` with the API's `code` and `msg`.

A place is safe to send twice: it carries a `clientOrderId`, and the API places it once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp

from cryptex_mm.backoff import Backoff, retry_after
from cryptex_mm.metrics import MmMetrics
from cryptex_mm.settings import MmSettings

log = logging.getLogger("cryptex.mm.client")

UNAUTHORIZED: Final = -1002
EMAIL_TAKEN: Final = -2016
# A token is renewed this long before it expires, so that no request meets the expiry.
_RENEW_BEFORE_S: Final = 30.0


class ApiError(Exception):
    """The API refused a request: its HTTP status and the `code` and `msg` of its body."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"{status} {code}: {msg}")
        self.status, self.code, self.msg = status, code, msg


class RateLimitedError(ApiError):
    def __init__(self, status: int, code: int, msg: str, retry_after: float | None) -> None:
        super().__init__(status, code, msg)
        self.retry_after = retry_after


class UnavailableError(Exception):
    """The API could not be reached, timed out, or failed (5xx)."""


def _bucket(method: str, path: str) -> str:
    """The rate limit a request counts against (the API keeps one per account for orders and
    one per address for sign-ins)."""
    if method == "POST" and path == "/api/v1/order":
        return "orders"
    if path in ("/api/v1/signin", "/api/v1/signup"):
        return "login"
    return "other"


class RestClient:
    def __init__(
        self, http: aiohttp.ClientSession, settings: MmSettings, metrics: MmMetrics,
        rng: random.Random,
    ) -> None:  # fmt: skip
        self.http = http
        self.settings = settings
        self.metrics = metrics
        self.rng = rng
        self.base_url = settings.api_url.rstrip("/")
        self.account: int | None = None
        self._token: str | None = None
        self._renew_at = 0.0  # monotonic
        self._auth_lock = asyncio.Lock()
        self._not_before: dict[str, float] = {}  # bucket -> monotonic time of a 429's end
        self._signed_up = False

    # ------------------------------------------------------------------ tokens

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    async def token(self) -> str:
        """A token that is valid for a while yet, signing in if needed."""
        token = self._token
        if token is None or time.monotonic() >= self._renew_at:
            return await self.refresh(token)
        return token

    async def refresh(self, stale: str | None) -> str:
        """Sign in again unless someone already replaced `stale` meanwhile."""
        async with self._auth_lock:
            if self._token not in (None, stale) and time.monotonic() < self._renew_at:
                assert self._token is not None
                return self._token
            if self.settings.sign_up and not self._signed_up:
                await self._sign_up()
            credentials = {
                "email": self.settings.email,
                "password": self.settings.password.get_secret_value(),
            }
            answer = await self.call("POST", "/api/v1/signin", body=credentials, auth=False)
            self._token = str(answer["token"])
            self.account = int(answer["accountId"])
            ttl = float(answer.get("expiresIn", 3600))  # seconds
            self._renew_at = time.monotonic() + ttl - min(_RENEW_BEFORE_S, ttl / 3)
            self.metrics.signins.inc()
            log.info("signed in", extra={"account": self.account})
            return self._token

    async def _sign_up(self) -> None:
        credentials = {
            "email": self.settings.email,
            "password": self.settings.password.get_secret_value(),
        }
        try:
            answer = await self.call("POST", "/api/v1/signup", body=credentials, auth=False)
            log.info("signed up", extra={"account": answer.get("accountId")})
        except ApiError as error:
            if error.code != EMAIL_TAKEN:
                raise
        self._signed_up = True

    # ------------------------------------------------------------------ requests

    async def call(
        self, method: str, path: str, *, body: object = None,
        params: dict[str, str | int] | None = None, auth: bool = True,
        retries: int | None = None,
    ) -> Any:  # fmt: skip
        """One request, retried as the module says; the answer's JSON."""
        bucket = _bucket(method, path)
        backoff = Backoff(self.rng, self.settings.backoff_base_s, self.settings.backoff_cap_s)
        attempts_left = self.settings.max_retries if retries is None else retries
        renewed = False
        while True:
            wait = self._not_before.get(bucket, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            token = await self.token() if auth else None
            try:
                status, payload, headers = await self._send(method, path, body, params, token)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                failure: Exception = UnavailableError(f"{method} {path}: {error!r}")
                kind, delay = "unavailable", backoff.next()
            else:
                if status < 300:
                    return payload
                code, msg = _error_of(status, payload)
                if status == 401 and auth and not renewed:
                    self.metrics.errors.labels("unauthorized").inc()
                    log.info("token refused, signing in again", extra={"path": path})
                    await self.refresh(token)
                    renewed = True
                    continue
                if status == 429:
                    after = retry_after(headers.get("Retry-After"))
                    failure = RateLimitedError(status, code, msg, after)
                    kind, delay = "rate_limited", backoff.next(after)
                    self._not_before[bucket] = max(
                        self._not_before.get(bucket, 0.0), time.monotonic() + delay
                    )
                elif status >= 500:
                    failure = UnavailableError(f"{method} {path}: {status} {msg}")
                    kind, delay = "unavailable", backoff.next()
                else:
                    raise ApiError(status, code, msg)
            self.metrics.errors.labels(kind).inc()
            if attempts_left <= 0:
                raise failure
            attempts_left -= 1
            log.warning(
                "request failed, retrying",
                extra={"path": path, "error": str(failure), "delay_s": round(delay, 3)},
            )
            if kind != "rate_limited":  # a 429's delay is served at the top, by every caller
                await asyncio.sleep(delay)

    async def _send(
        self, method: str, path: str, body: object, params: dict[str, str | int] | None,
        token: str | None,
    ) -> tuple[int, Any, Mapping[str, str]]:  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
        async with self.http.request(
            method, self.base_url + path, data=data, params=params, headers=headers,
            timeout=timeout,
        ) as response:  # fmt: skip
            text = await response.text()
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            return response.status, payload, response.headers  # names case-insensitive

    # ------------------------------------------------------------------ a feed

    async def feed(self, url: str) -> Any:
        """A price feed's JSON, numbers kept as text; no token, no retry (the next interval
        asks again)."""
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s)
        try:
            async with self.http.get(url, timeout=timeout) as response:
                text = await response.text()
                if response.status >= 300:
                    raise UnavailableError(f"price feed: {response.status}")
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise UnavailableError(f"price feed: {error!r}") from None
        try:
            return json.loads(text, parse_float=str, parse_int=str)
        except ValueError:
            raise UnavailableError(f"price feed: not JSON: {text[:80]!r}") from None


def _error_of(status: int, payload: object) -> tuple[int, str]:
    if isinstance(payload, dict) and isinstance(payload.get("code"), int):
        return payload["code"], str(payload.get("msg", ""))
    return 0, str(payload)[:200] if payload else f"HTTP {status}"
