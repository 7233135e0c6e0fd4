"""The migration that adds the candles' taker-buy volumes fills them for the candles written
before it, from their trades, wherever every trade of a candle is still stored; a candle whose
trades are gone keeps NULL (not known)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from cryptex.db import migrate, migrations

TAKER_BUY_VOLUMES = "taker_buy_volumes"
MINUTE = datetime(2023, 11, 14, 22, 13, tzinfo=UTC)


async def _before_taker_buy_volumes(conn: asyncpg.Connection) -> None:
    """The schema as it was before the migration, recorded as applied."""
    await conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in migrations():
        if TAKER_BUY_VOLUMES in migration.name:
            return
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            migration.version, migration.name,
        )  # fmt: skip
    raise AssertionError("no migration adds the taker-buy volumes")


async def _scenario(database_url: str) -> dict[tuple[str, str], tuple[object, object]]:
    conn = await asyncpg.connect(database_url)
    try:
        await _before_taker_buy_volumes(conn)
        # SOL_USDC: three trades in one minute, the taker bought in two of them. ETH_USDC: a
        # candle of two trades of which one is no longer stored.
        await conn.execute(
            """INSERT INTO trades (market, trade_id, ts, price, quantity, quote_quantity,
                                   taker_side, maker_order_id, taker_order_id, maker_account,
                                   taker_account)
               VALUES ('SOL_USDC', 1, $1::timestamptz + interval '1 s', 150, 1.5, 225, 'BUY',
                       1, 2, 1, 2),
                      ('SOL_USDC', 2, $1::timestamptz + interval '2 s', 151, 0.5, 75.5, 'SELL',
                       3, 4, 2, 1),
                      ('SOL_USDC', 3, $1::timestamptz + interval '3 s', 152, 0.25, 38, 'BUY',
                       1, 5, 1, 2),
                      ('ETH_USDC', 1, $1::timestamptz + interval '1 s', 3000, 1, 3000, 'BUY',
                       6, 7, 1, 2)""",
            MINUTE,
        )
        await conn.execute(
            """INSERT INTO candles (market, interval, open_time, open, high, low, close,
                                    base_volume, quote_volume, trade_count)
               VALUES ('SOL_USDC', '1m', $1, 150, 152, 150, 152, 2.25, 338.5, 3),
                      ('ETH_USDC', '1m', $1, 3000, 3100, 3000, 3100, 2, 6100, 2)""",
            MINUTE,
        )
    finally:
        await conn.close()

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        applied = await migrate(pool)
        assert [name for name in applied if TAKER_BUY_VOLUMES in name] == applied != []
        rows = await pool.fetch(
            "SELECT market, interval, taker_buy_base_volume, taker_buy_quote_volume FROM candles"
        )
    finally:
        await pool.close()
    return {
        (row["market"], row["interval"]): (
            row["taker_buy_base_volume"],
            row["taker_buy_quote_volume"],
        )
        for row in rows
    }


def test_candles_written_before_get_their_taker_buy_volumes_where_their_trades_remain(
    database_url: str,
) -> None:
    found = asyncio.run(_scenario(database_url))
    assert found == {
        ("SOL_USDC", "1m"): (Decimal("1.75"), Decimal("263")),  # trades 1 and 3
        ("ETH_USDC", "1m"): (None, None),  # one of its two trades is gone: not known
    }
