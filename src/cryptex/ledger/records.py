"""What the ledger holds, as Python sees it: order records and balances. Pure: no Redis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from cryptex import keys
from cryptex.markets import MarketSpec
from cryptex.redis_replies import as_text
from cryptex.wire import OrderStatus, PlaceOrder, Side


class OrderRecord(msgspec.Struct, kw_only=True):
    """An order as the ledger keeps it (Redis hash `keys.order(id)`). The Lua scripts read the
    fields `account`, `market`, `status`, `lock_asset` and `locked`."""

    order_id: int
    market: str
    account: int
    side: Side
    order_type: str
    time_in_force: str
    price: int  # ticks (the protection price of a market order)
    quantity: int  # lots
    executed: int = 0  # lots
    executed_quote: int = 0  # quote units paid or received, before fees
    status: OrderStatus = OrderStatus.NEW
    lock_asset: str
    locked: int  # units still locked
    client_order_id: str = ""
    created: int  # epoch ms
    updated: int  # epoch ms
    reason: str = ""  # why it was rejected or expired
    quote_quantity: int = 0  # quote units a market order's quoteOrderQty asked for; 0: none
    stop_price: int = 0  # ticks; a stop order's trigger price, 0: not a stop order

    def to_fields(self) -> list[str]:
        """Field/value pairs, all strings, as HSET takes them."""
        pairs: list[str] = []
        for name in self.__struct_fields__:
            pairs += (name, str(getattr(self, name)))
        return pairs

    @classmethod
    def from_fields(cls, fields: Mapping[bytes | str, bytes | str]) -> OrderRecord:
        values = {as_text(k): as_text(v) for k, v in fields.items()}
        return msgspec.convert(values, cls, strict=False)


def lock_asset(market: MarketSpec, side: Side) -> str:
    """The asset an order locks: quote for a buy, base for a sell."""
    return market.quote.symbol if side is Side.BUY else market.base.symbol


def order_record_for(command: PlaceOrder, market: MarketSpec) -> OrderRecord:
    return OrderRecord(
        order_id=command.order_id,
        market=market.symbol,
        account=command.account,
        side=command.side,
        order_type=command.order_type.value,
        time_in_force=command.time_in_force.value,
        price=command.protection_price or command.price,  # a stop-market's protection price
        quantity=command.quantity,
        lock_asset=lock_asset(market, command.side),
        locked=command.locked,
        client_order_id=command.client_order_id,
        created=command.ts,
        updated=command.ts,
        quote_quantity=command.quote_budget * market.quote_units_per_tick_lot,
        stop_price=command.stop_price,
    )


@dataclass(frozen=True, slots=True)
class Balance:
    available: int
    locked: int


def balances_from(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Balance]:
    """An account's balances hash as Balance per asset, by asset name."""
    values = {as_text(k): int(v) for k, v in raw.items()}
    assets = {keys.asset_of_field(name) for name in values}
    return {
        asset: Balance(values.get(asset, 0), values.get(keys.locked_field(asset), 0))
        for asset in sorted(assets)
    }


def id_block(last: int, count: int) -> range:
    """The block of `count` order ids that ends with `last` (what INCRBY answered)."""
    return range(last - count + 1, last + 1)
