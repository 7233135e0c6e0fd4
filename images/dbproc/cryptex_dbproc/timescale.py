"""TimescaleDB, where the extension exists: `trades` and `candles` become hypertables, old trade
chunks are compressed, and trades past their retention (when one is set) are dropped.

Nothing else changes: the same tables, keys and statements serve both, so plain PostgreSQL gives
the same results. Every step is idempotent, and runs at each start under an advisory lock.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from cryptex_dbproc.store import Connection

log = logging.getLogger("cryptex.dbproc")

_LOCK_KEY: Final = 0x43525954  # "CRYT"; any constant no other Cryptex code locks on
# table -> (time column, chunk length, compressed segments); both tables' keys hold the time
# column, as a hypertable requires.
_HYPERTABLES: Final = {
    "trades": ("ts", timedelta(days=1), "market"),
    "candles": ("open_time", timedelta(days=30), "market, interval"),
}


async def available(conn: Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    )


async def setup(conn: Connection, compress_after: timedelta, retention: timedelta | None) -> bool:
    """Hypertables, compression and retention; False (nothing done) on plain PostgreSQL."""
    if not await available(conn):
        return False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        for table, (column, chunk, segments) in _HYPERTABLES.items():
            await conn.execute(
                "SELECT create_hypertable($1::regclass, $2::name,"
                " chunk_time_interval => $3::interval, if_not_exists => TRUE,"
                " migrate_data => TRUE)",
                table, column, chunk,
            )  # fmt: skip
            compressed = await conn.fetchval(
                "SELECT compression_enabled FROM timescaledb_information.hypertables"
                " WHERE hypertable_name = $1",
                table,
            )
            if not compressed:  # settings cannot change once chunks are compressed
                await conn.execute(
                    f"ALTER TABLE {table} SET (timescaledb.compress,"
                    f" timescaledb.compress_segmentby = '{segments}')"
                )
            await conn.execute(
                "SELECT add_compression_policy($1::regclass, $2::interval, if_not_exists => TRUE)",
                table, compress_after,
            )  # fmt: skip
        if retention is not None:
            await conn.execute(
                "SELECT add_retention_policy('trades', $1::interval, if_not_exists => TRUE)",
                retention,
            )
    log.info("TimescaleDB hypertables ready", extra={"tables": list(_HYPERTABLES)})
    return True
