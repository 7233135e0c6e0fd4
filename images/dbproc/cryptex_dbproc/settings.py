"""The DB processor's settings (environment, `CRYPTEX_` prefix)."""

from __future__ import annotations

from pydantic import Field

from cryptex.settings import CommonSettings


class DbprocSettings(CommonSettings):
    database_url: str = Field(description="PostgreSQL, e.g. postgresql://user@host:5432/cryptex")
    metrics_port: int = 9102
    # Stream entries read per market at a time and written in one transaction; an entry is one
    # engine batch (up to some hundreds of events).
    batch_size: int = Field(default=32, ge=1, le=10_000)
    block_ms: int = Field(default=100, ge=1)  # how long one read waits for new entries
    registry_refresh_s: float = Field(default=2.0, gt=0)  # new markets are found this often
    # Entries another consumer (a dead instance) left unacknowledged this long are taken over.
    claim_idle_ms: int = Field(default=30_000, ge=10)
    pool_size: int = Field(default=4, ge=1)  # markets are written concurrently, one connection each
    # Event stream entries written and acknowledged are trimmed once older than this (the
    # operator reads acknowledgements of its requests there, within seconds).
    events_retention_s: float = Field(default=600.0, ge=0)
    # TimescaleDB only (ignored on plain PostgreSQL):
    compress_after_days: int = Field(default=7, ge=1)  # trade chunks older than this are compressed
    trades_retention_days: int = Field(default=0, ge=0)  # 0 keeps every trade
