"""Redis connections, as every service opens them.

Nothing here knows a key or a script: the ledger, the engine, the DB processor and the operator
build on these, and none of them needs the ledger for a connection."""

from __future__ import annotations

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

# redis-py's default ("auto") turns off the pool's check of a connection it hands out: a pooled
# connection that a Redis restart closed is then used, and its command fails once. Off, the
# pool sees the closed socket and reconnects first (Redis's maintenance notifications are a
# Redis Enterprise and Cloud feature).
_NO_MAINTENANCE = MaintNotificationsConfig(enabled=False)


def connect(url: str) -> redis.Redis:
    """A client for the ledger and the engines, with redis-py's automatic retries off: a
    command re-sent after a lost reply must be the caller's decision (the scripts are
    idempotent, but a re-sent XREADGROUP would silently skip the entries it had delivered)."""
    return redis.Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), maint_notifications_config=_NO_MAINTENANCE
    )


def connect_async(url: str, max_connections: int = 64, wait_s: float = 5.0) -> redis.asyncio.Redis:
    """`connect()` for asyncio services. Connections are bounded, and a request that finds them
    all busy waits up to `wait_s` for one (a plain pool fails at once: a burst of requests
    would get errors where a short queue does)."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, retry=AsyncRetry(NoBackoff(), 0),
        maint_notifications_config=_NO_MAINTENANCE,
    )  # fmt: skip
    return redis.asyncio.Redis.from_pool(pool)  # closing the client closes its pool
