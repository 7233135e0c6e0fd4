"""What the public API's JSON means in integers: markets, orders, balances, depth, trades and a
price feed's answer. Pure: parsed JSON in, `cryptex.markets` and `cryptex.money` values out.

Every amount is read exactly (`MarketSpec.price_to_ticks`, `AssetSpec.to_units`): a decimal
string that does not fit its market's rules is a broken API, and raises `PayloadError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptex.markets import AssetSpec, MarketSpec
from cryptex.money import MoneyError, parse_decimal, to_steps, to_units
from cryptex.wire import OrderStatus, Side, TradingState
from cryptex_mm.quoting import SUBTICKS, Resting


class PayloadError(ValueError):
    """An answer of the API (or the price feed) that is not what the protocol promises."""


@dataclass(frozen=True, slots=True)
class Balance:
    free: int  # units of the asset
    locked: int

    @property
    def total(self) -> int:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class OrderChange:
    """One `orders@me` message, or the state part of an order answered by REST."""

    order_id: int
    market: str
    status: OrderStatus
    executed: int  # lots


def market(data: Mapping[str, Any]) -> MarketSpec:
    """A market of `GET /api/v1/markets`."""
    try:
        tick = parse_decimal(data["tickSize"], "tickSize")
        lot = parse_decimal(data["lotSize"], "lotSize")
        quote = AssetSpec(data["quote"], data["quoteDecimals"])
        return MarketSpec(
            base=AssetSpec(data["base"], data["baseDecimals"]),
            quote=quote,
            tick_size=tick,
            lot_size=lot,
            min_qty=to_steps(data["minQty"], lot, "minQty"),
            max_qty=to_steps(data["maxQty"], lot, "maxQty"),
            min_notional=to_units(data["minNotional"], quote.decimals, "minNotional",
                                  allow_zero=True),
            maker_fee_bps=data["makerFeeBps"],
            taker_fee_bps=data["takerFeeBps"],
            trading_state=TradingState(data["tradingState"]),
            max_open_orders=data["maxOpenOrders"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as error:  # MoneyError and MarketError included
        raise PayloadError(f"market {data.get('symbol')!r}: {error}") from None


def markets(data: object) -> dict[str, MarketSpec]:
    if not isinstance(data, list):
        raise PayloadError("markets: expected a list")
    specs = [market(item) for item in data]
    return {spec.symbol: spec for spec in specs}


def assets(specs: Mapping[str, MarketSpec]) -> dict[str, AssetSpec]:
    found: dict[str, AssetSpec] = {}
    for spec in specs.values():
        found[spec.base.symbol] = spec.base
        found[spec.quote.symbol] = spec.quote
    return found


def balances(data: object, known: Mapping[str, AssetSpec]) -> dict[str, Balance]:
    """`GET /api/v1/balances` or a `balances@me` message; assets no market trades are left out."""
    if not isinstance(data, list):
        raise PayloadError("balances: expected a list")
    out: dict[str, Balance] = {}
    for item in data:
        try:
            spec = known.get(item["asset"])
            if spec is None:
                continue
            out[spec.symbol] = Balance(
                to_units(item["free"], spec.decimals, "free", allow_zero=True),
                to_units(item["locked"], spec.decimals, "locked", allow_zero=True),
            )
        except (KeyError, TypeError, MoneyError) as error:
            raise PayloadError(f"balance {item!r}: {error}") from None
    return out


def resting(spec: MarketSpec, data: Mapping[str, Any]) -> Resting:
    """An open order of `GET /api/v1/orders/open` or `POST /api/v1/order`."""
    try:
        return Resting(
            order_id=int(data["orderId"]),
            side=Side(str(data["side"]).upper()),
            price=spec.price_to_ticks(data["price"]),
            quantity=spec.quantity_to_lots(data["quantity"]),
            executed=to_steps(data["executedQty"], spec.lot_size, "executedQty", allow_zero=True),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PayloadError(f"order {data.get('orderId')!r}: {error}") from None


def order_change(spec: MarketSpec, data: Mapping[str, Any]) -> OrderChange:
    """An `orders@me` message's data (also fits a REST order)."""
    try:
        return OrderChange(
            order_id=int(data["orderId"]),
            market=str(data["market"]),
            status=OrderStatus(data["status"]),
            executed=to_steps(data["executedQty"], spec.lot_size, "executedQty", allow_zero=True),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PayloadError(f"order update {data!r}: {error}") from None


def subticks(spec: MarketSpec, price: object) -> int:
    """A decimal price as a reference in sub-ticks, to the nearest (it need not be on a tick:
    quotes are rounded to ticks, away from the reference)."""
    try:
        value = parse_decimal(price, "price")
    except MoneyError as error:
        raise PayloadError(str(error)) from None
    tick = spec.tick_size
    numerator: int = value.digits * 10**tick.scale * SUBTICKS
    denominator: int = tick.digits * 10**value.scale
    found = (2 * numerator + denominator) // (2 * denominator)
    if found <= 0:
        raise PayloadError(f"price {price!r} is below a sub-tick")
    return found


def book_reference(
    spec: MarketSpec, depth: Mapping[str, Any], trades: Sequence[Mapping[str, Any]]
) -> int | None:
    """Where a market trades now, in sub-ticks: the mid of the best bid and ask, else the last
    trade, else the one best price there is; None for an empty market."""
    try:
        bids, asks = depth["bids"], depth["asks"]
        best_bid = spec.price_to_ticks(bids[0][0]) if bids else None
        best_ask = spec.price_to_ticks(asks[0][0]) if asks else None
        last = spec.price_to_ticks(trades[0]["price"]) if trades else None
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise PayloadError(f"depth or trades: {error}") from None
    if best_bid is not None and best_ask is not None:
        return (best_bid + best_ask) * SUBTICKS // 2
    for price in (last, best_bid, best_ask):
        if price is not None:
            return price * SUBTICKS
    return None


def feed_price(body: object) -> str:
    """A price feed's answer: a JSON string or number, or an object with `price`. Parse the
    body with numbers kept as text (`json.loads(..., parse_float=str, parse_int=str)`)."""
    if isinstance(body, Mapping):
        body = body.get("price")
    if isinstance(body, str):
        return body.strip()
    raise PayloadError(f'price feed: expected a price or {{"price": ...}}, got {body!r}')
