"""`cryptex-dbproc` (or `python -m cryptex_dbproc`): every market's events into PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import asyncpg
import redis
from prometheus_client import CollectorRegistry

from cryptex import logs, metrics
from cryptex.redis_access import connect_async
from cryptex.settings import load
from cryptex_dbproc.service import DbprocMetrics, Processor
from cryptex_dbproc.settings import DbprocSettings

log = logging.getLogger("cryptex.dbproc")

_CONNECT_RETRY_S = 1.0
# What is retried at start: a server not up (yet). Anything else stops the processor.
_UNREACHABLE = (
    OSError, asyncpg.CannotConnectNowError, asyncpg.InterfaceError, redis.ConnectionError,
    redis.TimeoutError,
)  # fmt: skip


def main() -> int:
    settings = load(DbprocSettings)
    logs.configure(settings.log_level)
    return asyncio.run(serve(settings))


async def serve(settings: DbprocSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = connect_async(settings.redis_url)
    registry = CollectorRegistry()
    pool: asyncpg.Pool | None = None
    processor: Processor | None = None
    metrics.serve(
        registry, settings.metrics_host, settings.metrics_port,
        healthy=lambda: processor is not None and processor.healthy(),
    )  # fmt: skip
    try:
        while processor is None and not stop.is_set():
            try:
                pool = await asyncpg.create_pool(
                    settings.database_url, min_size=1, max_size=settings.pool_size
                )
                candidate = Processor(client, pool, settings, DbprocMetrics(registry))
                await candidate.start()
                processor = candidate
            except _UNREACHABLE as error:
                # Started before its database or Redis (a local stack, a cluster coming up).
                log.warning("unreachable at start, retrying", extra={"error": str(error)})
                if pool is not None:
                    await pool.close()
                    pool = None
                await asyncio.sleep(_CONNECT_RETRY_S)
            except asyncpg.PostgresError as error:  # a migration or setup that cannot work
                log.error("cannot prepare the database", extra={"error": str(error)})
                return 2
        if processor is not None:
            await processor.run(stop)
    finally:
        if pool is not None:
            await pool.close()
        await client.aclose()
    log.info("dbproc stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
