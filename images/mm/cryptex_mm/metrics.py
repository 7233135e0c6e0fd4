"""The bot's Prometheus metrics (`cryptex_mm_*`). Labels are markets, sides, assets, reasons
and error kinds; never order or account ids (those go in log lines). Prices and amounts are
gauges in whole units of their asset: for graphs only, the bot never computes with them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class MmMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.placed = Counter(
            "cryptex_mm_orders_placed", "Quotes placed (accepted by the API)", ["market", "side"],
            registry=registry,
        )  # fmt: skip
        self.canceled = Counter(
            "cryptex_mm_orders_canceled", "Quotes cancelled by the bot", ["market"],
            registry=registry,
        )  # fmt: skip
        self.rejected = Counter(
            "cryptex_mm_orders_rejected",
            "Quotes refused by the API or the engine, by reason (insufficient_funds, "
            "post_only_would_take, filter, market_not_open, ...)",
            ["market", "reason"], registry=registry,
        )  # fmt: skip
        self.refreshes = Counter(
            "cryptex_mm_quote_refreshes",
            "Plans that cancelled or placed: reason price (the reference moved past the "
            "threshold) or orders (fills, inventory, funds, a restart)",
            ["market", "reason"], registry=registry,
        )  # fmt: skip
        self.fills = Counter(
            "cryptex_mm_fills", "Order updates that executed some of a quote", ["market", "side"],
            registry=registry,
        )  # fmt: skip
        self.errors = Counter(
            "cryptex_mm_errors",
            "Failures by kind: rate_limited, unavailable, unauthorized, api, stream, feed, "
            "payload, no_reference",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.signins = Counter("cryptex_mm_signins", "Successful sign-ins", registry=registry)
        self.inventory = Gauge(
            "cryptex_mm_inventory", "Base asset held (free + locked), whole units", ["market"],
            registry=registry,
        )  # fmt: skip
        self.target = Gauge(
            "cryptex_mm_inventory_target", "Base holding the skew aims at, whole units",
            ["market"], registry=registry,
        )  # fmt: skip
        self.reference = Gauge(
            "cryptex_mm_reference_price", "The reference price quotes are built around",
            ["market"], registry=registry,
        )  # fmt: skip
        self.open_orders = Gauge(
            "cryptex_mm_open_orders", "The bot's open orders", ["market", "side"],
            registry=registry,
        )  # fmt: skip
        self.balance = Gauge(
            "cryptex_mm_balance", "Balances, whole units", ["asset", "kind"], registry=registry
        )
        self.stream_up = Gauge(
            "cryptex_mm_stream_connected", "1 while the private WebSocket streams are subscribed",
            registry=registry,
        )  # fmt: skip
