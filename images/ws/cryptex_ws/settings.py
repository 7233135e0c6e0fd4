"""`WsSettings`: the WebSocket server's settings from the environment (`CRYPTEX_` prefix)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cryptex.settings import MIN_JWT_SECRET_LENGTH, CommonSettings, ConfigError


class WsSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65_535)
    metrics_port: int = Field(default=9103, ge=0, le=65_535)
    dev_mode: bool = False  # allows a missing JWT secret: then AUTH is refused
    jwt_secret: str = ""  # the API's: the server verifies the tokens the API issues
    # A connection's send queue: bytes written but not yet taken by its socket. A client whose
    # queue passes this after a flush is too slow and is dropped (close code 1008).
    send_queue_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    # 0: frames are written at the end of every turn of the event loop (while one round of
    # writes runs, messages gather for the next by themselves). Above 0, each round waits as
    # long as the previous one took, up to this (ms): less CPU under load, more latency.
    max_flush_linger_ms: float = Field(default=0, ge=0, le=100)
    max_subscriptions: int = Field(default=200, ge=1)  # per connection
    messages_per_second: float = Field(default=10, gt=0)  # incoming, per connection
    message_burst: int = Field(default=50, ge=1)  # then refused; twice past it, disconnected
    max_message_bytes: int = Field(default=4096, ge=256)  # a larger request gets an error
    max_frame_bytes: int = Field(default=64 * 1024, ge=1024)  # a larger frame closes (1009)
    max_connections: int = Field(default=10_000, ge=1)  # then handshakes get 503
    ping_interval_s: float = Field(default=20, gt=0)  # keepalive pings; a dead peer is closed
    idle_timeout_s: float = Field(default=60, gt=0)  # a connection without subscriptions
    ping_timeout_s: float = Field(default=20, gt=0)
    close_timeout_s: float = Field(default=5, gt=0)  # then the TCP connection is aborted
    markets_refresh_s: float = Field(default=2, gt=0)  # how often the registry is read
    balances_debounce_ms: int = Field(default=50, ge=0)
    # How often a `/ws/<listenKey>` connection checks that its key still lives (seconds).
    listen_key_check_s: float = Field(default=2, gt=0)
    # Reads the HMAC secrets of API keys (the WebSocket API's signed user data subscription):
    # the API's CRYPTEX_API_KEY_ENCRYPTION_SECRET, or without it the JWT secret, as the API.
    api_key_encryption_secret: str = ""

    def model_post_init(self, context: Any, /) -> None:
        if not self.dev_mode and len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            raise ConfigError(
                "configuration error:\n  CRYPTEX_JWT_SECRET: required outside dev mode, at "
                f"least {MIN_JWT_SECRET_LENGTH} characters"
            )
        if self.max_message_bytes > self.max_frame_bytes:
            raise ConfigError(
                "configuration error:\n  CRYPTEX_MAX_MESSAGE_BYTES: must not exceed "
                "CRYPTEX_MAX_FRAME_BYTES"
            )
