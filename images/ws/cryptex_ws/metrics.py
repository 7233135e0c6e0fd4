"""The server's Prometheus metrics (`cryptex_ws_*`). Labels are stream kinds, markets and
reasons; never accounts or connection ids (those go in log lines)."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Why the server closed a connection: the `reason` label of cryptex_ws_disconnects_total.
DROP_SLOW_CONSUMER: Final = "slow_consumer"
DROP_RATE_LIMIT: Final = "rate_limit"
DROP_MAX_CONNECTIONS: Final = "max_connections"
DROP_LISTEN_KEY: Final = "listen_key"  # its key expired or was deleted: not a fault


class WsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.connections = Gauge(
            "cryptex_ws_connections", "Open WebSocket connections", registry=registry
        )
        self.subscriptions = Gauge(
            "cryptex_ws_subscriptions", "Subscriptions by stream kind", ["kind"], registry=registry
        )
        self.relayed = Counter(
            "cryptex_ws_relayed", "Redis messages relayed, by market and channel",
            ["market", "channel"], registry=registry,
        )  # fmt: skip
        self.sent = Counter(
            "cryptex_ws_messages_sent", "Messages queued to clients (one per subscriber)",
            registry=registry,
        )  # fmt: skip
        self.bytes_sent = Counter(
            "cryptex_ws_bytes_sent", "Bytes written to clients", registry=registry
        )
        self.disconnects = Counter(
            "cryptex_ws_disconnects", "Connections the server closed, by reason", ["reason"],
            registry=registry,
        )  # fmt: skip
        # Each reason's series exists from the start at 0, so the first drop is an increase that
        # rate() sees (a series born at 1 shows none) and the drops alert fires on it.
        for reason in (DROP_SLOW_CONSUMER, DROP_RATE_LIMIT, DROP_MAX_CONNECTIONS):
            self.disconnects.labels(reason)
        self.errors = Counter(
            "cryptex_ws_errors", "Error replies, by code", ["code"], registry=registry
        )
        self.fanout_seconds = Histogram(
            "cryptex_ws_fanout_seconds", "Decoding, encoding and queueing one Redis message",
            buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1),
            registry=registry,
        )  # fmt: skip
        self.flush_seconds = Histogram(
            "cryptex_ws_flush_seconds", "Writing every connection's queued frames once",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
            registry=registry,
        )  # fmt: skip
        self.undecodable = Counter(
            "cryptex_ws_undecodable", "Redis messages that did not decode", ["channel"],
            registry=registry,
        )  # fmt: skip
        self.redis_up = Gauge(
            "cryptex_ws_redis_up", "1 while the pubsub connection to Redis is up",
            registry=registry,
        )  # fmt: skip
        self.markets = Gauge(
            "cryptex_ws_markets", "Markets whose channels are subscribed", registry=registry
        )
