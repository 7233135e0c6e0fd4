"""PostgreSQL schema migrations, shared by the API and the DB processor.

Migrations are the numbered SQL files in `migrations/` (`0001_initial.sql`, ...), applied in
order, each in its own transaction, each once: `schema_migrations` records them. Services call
`migrate()` at start; an advisory lock makes concurrent starts wait for each other, so two
replicas never apply the same file twice. A file is never edited once released: a change is a
new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import asyncpg

# Any constant that no other Cryptex code uses as an advisory lock key.
_LOCK_KEY: Final = 0x43525950  # "CRYP"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    found = []
    for entry in resources.files("cryptex").joinpath("migrations").iterdir():
        match = _NAME.fullmatch(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3, ...: found {versions}")
    return found


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply what is missing; returns the names applied now (empty when up to date)."""
    async with pool.acquire() as conn:
        return await _migrate(conn)


async def _migrate(conn: Any) -> list[str]:
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied_now.append(f"{migration.version:04d}_{migration.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
