"""The facts of Binance's spot API that both edges of the facade need (the REST routes in the
API, the streams in the WebSocket server): symbols, default client order ids, 24-hour ticker
arithmetic. Pure: no I/O."""

from __future__ import annotations

from typing import Final

from cryptex.markets import MarketSpec

DEFAULT_STP: Final = "EXPIRE_MAKER"
STP_MODES: Final = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]
# A listenKey lives this long after it was made or last kept alive, as on Binance.
LISTEN_KEY_TTL_MS: Final = 3_600_000


def symbol_id(market: MarketSpec) -> str:
    """Binance's concatenated symbol: SOL_USDC is SOLUSDC."""
    return market.base.symbol + market.quote.symbol


def client_order_id(client_order_id: str, order_id: int) -> str:
    """Binance gives every order a client order id; one placed without gets its order id's."""
    return client_order_id or f"cryptex-{order_id}"


def price_change_percent(last_ticks: int, open_ticks: int) -> str:
    """The change from open to last in percent with three decimals, exact and then rounded
    toward zero (no floats)."""
    change = last_ticks - open_ticks
    thousandths = abs(change) * 100_000 // open_ticks if open_ticks else 0
    return f"{'-' if change < 0 else ''}{thousandths // 1000}.{thousandths % 1000:03d}"


def signed_price(market: MarketSpec, ticks: int) -> str:
    """A price difference, which may be negative."""
    return ("-" if ticks < 0 else "") + market.format_price(abs(ticks))


def weighted_price(market: MarketSpec, quote_units: int, lots: int) -> str:
    """quote / base as a price, whole ticks rounded down."""
    if not lots:
        return market.format_price(0)
    return market.format_price(quote_units // (lots * market.quote_units_per_tick_lot))
