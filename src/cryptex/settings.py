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
    batch_size: int = Field(default=1024, ge=1, le=100_000)
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
