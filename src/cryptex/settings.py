"""Service settings from the environment (`CRYPTEX_` prefix), validated at start.

Each service's `__main__` builds its settings once and passes them down; nothing reads the
environment anywhere else. A missing required variable stops the service with its name.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class ConfigError(SystemExit):
    """Configuration that cannot work: the service refuses to start and says why."""


def default_instance() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRYPTEX_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_host: str = "0.0.0.0"
    instance: str = Field(default_factory=default_instance)


class EngineSettings(CommonSettings):
    market: str = Field(description="the market this engine runs, e.g. SOL_USDC")
    manifest: Path | None = Field(
        default=None, description="local mode: read the market from this Market manifest"
    )
    metrics_port: int = 9101
    # Batches fill up only when commands queue: a large cap costs nothing at normal load and
    # makes a backlog drain faster (fewer script calls, fewer fsyncs).
    batch_size: int = Field(default=4096, ge=1, le=100_000)
    block_ms: int = Field(default=100, ge=1)  # how long one read waits for new commands
    snapshot_interval_s: float = Field(default=5.0, gt=0)
    lease_ttl_ms: int = Field(default=10_000, ge=1_000)
    depth_levels: int = Field(default=100, ge=1)  # levels kept in the REST depth snapshot
    # Trim the command stream up to each snapshot; off keeps every command (tests compare a
    # replay of all of them with the live book).
    trim_commands: bool = True


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings, turning a validation error into one readable line per variable."""
    try:
        return cls(**overrides)
    except ValidationError as error:
        prefix = cls.model_config.get("env_prefix", "")
        lines = [
            f"{prefix}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError("configuration error:\n  " + "\n  ".join(lines)) from None


# Secrets shorter than this are refused outside dev mode: HS256 keys should carry >= 256 bits.
MIN_JWT_SECRET_LENGTH = 32


class ApiSettings(CommonSettings):
    database_url: str = Field(description="PostgreSQL, e.g. postgresql://user@host:5432/cryptex")
    host: str = "127.0.0.1"
    port: int = 8000
    dev_mode: bool = False  # allows a missing JWT secret (then random per process) and the faucet
    jwt_secret: str = ""
    jwt_ttl_s: int = Field(default=24 * 3600, ge=60)
    faucet: bool = False  # POST /api/v1/faucet, only in dev mode
    cors_origins: list[str] = []
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    reply_timeout_ms: int = Field(default=2_000, ge=10)  # then answer with the order's state
    orders_per_second: float = Field(default=50, gt=0)  # per account, with a burst of 2 s
    logins_per_minute: float = Field(default=20, gt=0)  # per client address
    market_order_band_bps: int = Field(default=500, ge=1, le=5_000)  # protection price band
    bootstrap_admin_email: str = ""  # makes sure this admin exists at start (local stacks)
    bootstrap_admin_password: str = ""
    # Encrypts the HMAC secrets of API keys at rest (a key is derived from it); every API process
    # needs the same one. Without it, the key is derived from the JWT secret.
    api_key_encryption_secret: str = ""
    # Binance-compatible API: request weight per client address and minute (X-MBX-USED-WEIGHT-1M)
    request_weight_per_minute: int = Field(default=6_000, ge=1)
    # The trading web app's build (`make web`: web/dist), served at `/`; none: no web app.
    web_dir: Path | None = None
    # Where the web app's WebSocket connects; empty: `/ws` on the page's own host, where the
    # chart's ingress routes it (a local stack names its WebSocket port).
    web_ws_url: str = ""

    def model_post_init(self, context: Any, /) -> None:
        if not self.dev_mode and len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            raise ConfigError(
                "configuration error:\n  CRYPTEX_JWT_SECRET: required outside dev mode, at "
                f"least {MIN_JWT_SECRET_LENGTH} characters"
            )
        if self.faucet and not self.dev_mode:
            raise ConfigError("configuration error:\n  CRYPTEX_FAUCET: only in dev mode")
        if self.web_dir is not None and not (self.web_dir / "index.html").is_file():
            raise ConfigError(
                f"configuration error:\n  CRYPTEX_WEB_DIR: {self.web_dir} holds no index.html "
                "(build the web app: make web)"
            )
        if self.web_ws_url and not self.web_ws_url.startswith(("ws://", "wss://")):
            raise ConfigError("configuration error:\n  CRYPTEX_WEB_WS_URL: a ws:// or wss:// URL")
