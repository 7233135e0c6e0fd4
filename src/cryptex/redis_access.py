"""Redis connections, as every service opens them: to one Redis (`redis://`), or to the primary
that Redis Sentinel names (`redis+sentinel://`), followed through a failover without a restart.

Nothing here knows a key or a script: the ledger, the engine, the DB processor and the operator
build on these, and none of them needs the ledger for a connection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

SENTINEL_SCHEME = "redis+sentinel"
# redis-py's default ("auto") turns off the pool's check of a connection it hands out: a pooled
# connection that a Redis restart closed is then used, and its command fails once. Off, the
# pool sees the closed socket and reconnects first (Redis's maintenance notifications are a
# Redis Enterprise and Cloud feature).
_NO_MAINTENANCE = MaintNotificationsConfig(enabled=False)
_SENTINEL_TIMEOUT_S = 1.0  # a Sentinel that does not answer in this is skipped for the next


@dataclass(frozen=True)
class SentinelTarget:
    """`redis+sentinel://[:password@]host:port[,host:port...]/<primary name>[/<db>]`: the
    Sentinels to ask, the name they monitor the primary under, and the database."""

    sentinels: tuple[tuple[str, int], ...]
    primary: str
    db: int
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SentinelTarget:
        parts = urlsplit(url)
        if parts.scheme != SENTINEL_SCHEME:
            raise ValueError(f"not a {SENTINEL_SCHEME}:// URL: {url!r}")
        credentials, _, hosts = parts.netloc.rpartition("@")
        password = unquote(credentials.partition(":")[2]) or None if credentials else None
        sentinels = []
        for host in hosts.split(","):
            name, _, port = host.rpartition(":")
            if not name or not port.isdigit():
                raise ValueError(f"{url!r}: each Sentinel is host:port, not {host!r}")
            sentinels.append((name, int(port)))
        path = [part for part in parts.path.split("/") if part]
        if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise ValueError(f"{url!r}: the path is /<primary name>[/<db>]")
        if parse_qs(parts.query):
            raise ValueError(f"{url!r}: takes no query")
        db = int(path[1]) if len(path) == 2 else 0
        return cls(tuple(sentinels), path[0], db, password)

    def options(self) -> dict[str, Any]:
        return {"db": self.db, "password": self.password}


class _ClosedWriteIsLost(redis.asyncio.connection.AbstractConnection):
    """A write to a socket that closed under the connection (Redis died after the connect,
    before or during the command) fails as a lost connection, `ConnectionError`, as it does on
    asyncio's own loop. On uvloop the write raises a RuntimeError ("the handler is closed"),
    which redis-py passes on as it is: the API answered 500, not 503."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        try:
            await super().send_packed_command(command, check_health)
        except RuntimeError as error:  # redis-py has disconnected it already
            if "closed" not in str(error):
                raise
            raise redis.ConnectionError(f"Error while writing to socket: {error}") from error


class _AsyncConnection(_ClosedWriteIsLost, redis.asyncio.connection.Connection):
    pass


class _AsyncSentinelConnection(
    _ClosedWriteIsLost, redis.asyncio.sentinel.SentinelManagedConnection
):
    pass


class _PrimaryClient(redis.Redis):
    """The primary's client, which also closes its connections to the Sentinels."""

    def close(self) -> None:
        super().close()
        pool = cast(redis.sentinel.SentinelConnectionPool, self.connection_pool)
        for sentinel in pool.sentinel_manager.sentinels:
            sentinel.close()


class _AsyncPrimaryClient(redis.asyncio.Redis):
    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = cast(redis.asyncio.sentinel.SentinelConnectionPool, self.connection_pool)
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def is_sentinel(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


def connect(url: str) -> redis.Redis:
    """A client for the ledger and the engines, with redis-py's automatic retries off: a
    command re-sent after a lost reply must be the caller's decision (the scripts are
    idempotent, but a re-sent XREADGROUP would silently skip the entries it had delivered)."""
    options: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 0), "maint_notifications_config": _NO_MAINTENANCE
    }  # fmt: skip
    if is_sentinel(url):
        target = SentinelTarget.parse(url)
        sentinel = redis.sentinel.Sentinel(
            list(target.sentinels), socket_timeout=_SENTINEL_TIMEOUT_S,
            sentinel_kwargs={"password": target.password},
        )  # fmt: skip
        client: redis.Redis = sentinel.master_for(
            target.primary, redis_class=_PrimaryClient, **options, **target.options()
        )
        return client
    return redis.Redis.from_url(url, **options)


def connect_async(url: str, max_connections: int = 64, wait_s: float = 5.0) -> redis.asyncio.Redis:
    """`connect()` for asyncio services. Connections are bounded, and a request that finds them
    all busy waits up to `wait_s` for one (a plain pool fails at once: a burst of requests
    would get errors where a short queue does). Through Sentinel the pool is redis-py's own,
    which follows the primary; it fails at once when all its connections are busy."""
    if is_sentinel(url):
        target = SentinelTarget.parse(url)
        sentinel = redis.asyncio.sentinel.Sentinel(
            list(target.sentinels), socket_timeout=_SENTINEL_TIMEOUT_S,
            sentinel_kwargs={"password": target.password},
        )  # fmt: skip
        client: redis.asyncio.Redis = sentinel.master_for(
            target.primary, redis_class=_AsyncPrimaryClient, max_connections=max_connections,
            retry=AsyncRetry(NoBackoff(), 0), connection_class=_AsyncSentinelConnection,
            **target.options(),
        )  # fmt: skip
        return client
    # TLS (rediss://) and Unix sockets keep their own connection classes.
    tcp = {"connection_class": _AsyncConnection} if urlsplit(url).scheme == "redis" else {}
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, retry=AsyncRetry(NoBackoff(), 0),
        maint_notifications_config=_NO_MAINTENANCE, **tcp,
    )  # fmt: skip
    return redis.asyncio.Redis.from_pool(pool)  # closing the client closes its pool
