"""The place script's contract: its keys and arguments by name, and its reply. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, NamedTuple

import msgspec

from cryptex import keys
from cryptex.ledger.records import lock_asset, order_record_for
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.markets import MarketSpec
from cryptex.redis_replies import as_text
from cryptex.wire import PlaceOrder, Side, encode

# How long a client order id stays reserved after its order was placed.
CLIENT_ORDER_ID_TTL_S: Final = 7 * 24 * 3600


class PlaceKeys(NamedTuple):
    balances: str
    order_record: str
    open_orders: str
    open_counts: str
    commands: str
    version: str
    client_order: str | None  # only when the order has a client order id


class PlaceArgs(NamedTuple):
    order_id: int
    market: str
    asset: str  # the locked asset's available field
    locked_field: str
    lock_units: int
    command: bytes
    command_field: str
    client_order_ttl_s: int
    terms: str  # what a client order id stands for: reused with other terms, it is refused
    max_open_orders: int  # of this account in this market
    record: bytes  # the order record's field/value pairs as one msgpack array of strings


PLACE: Final = LuaScript("place", PlaceKeys, PlaceArgs, exact_integers=True)


class PlaceOutcome(IntEnum):
    PLACED = 1
    DUPLICATE = 0  # the client order id was used for the same terms: `order_id` is that order
    INSUFFICIENT_FUNDS = -1
    TOO_MANY_OPEN_ORDERS = -2  # the account has the market's maxOpenOrders open there
    CLIENT_ORDER_ID_REUSED = -3  # used before for other terms: `order_id` is that first order
    BALANCE_OVERFLOW = -4  # the lock would take the locked balance past 2^63 - 1


@dataclass(frozen=True, slots=True)
class PlaceResult:
    outcome: PlaceOutcome
    order_id: int
    command: PlaceOrder | None = None  # as queued, with its lock and fees


def order_terms(market: MarketSpec, command: PlaceOrder) -> str:
    """What the trader asked for, as a client order id stands for it: the same id with the same
    terms is a retry, with any other terms a mistake. A market order's protection price is
    left out: it follows the book, not the trader; so is the lot cap of an order with a quote
    budget, derived from the book too."""
    # Terms of an order without a budget read as before budgets existed: a retry across an
    # upgrade is still a retry.
    budget = (command.quote_budget,) if command.quote_budget else ()
    stop = (f"stop={command.stop_price}",) if command.stop_price else ()
    quantity = 0 if command.quote_budget else command.quantity
    return "|".join(
        str(part)
        for part in (
            market.symbol, command.side.value, command.order_type.value,
            command.time_in_force.value, command.price, quantity, command.post_only,
            command.self_trade_prevention.value, *budget, *stop,
        )
    )  # fmt: skip


def place_call(market: MarketSpec, command: PlaceOrder) -> tuple[PlaceOrder, Call]:
    """The command as it will be queued (its lock and fees set from the market) and the call."""
    if command.side is Side.BUY and command.quote_budget:
        locked = market.budget_buy_lock(
            command.quote_budget, command.protection_price, command.quantity
        )
    elif command.side is Side.BUY:
        locked = market.buy_lock(command.protection_price or command.price, command.quantity)
    else:
        locked = market.sell_lock(command.quantity)
    command = msgspec.structs.replace(
        command,
        locked=locked,
        maker_fee_bps=market.maker_fee_bps,
        taker_fee_bps=market.taker_fee_bps,
    )
    record = order_record_for(command, market)
    asset = lock_asset(market, command.side)
    call = PLACE.call(
        PlaceKeys(
            balances=keys.balances(command.account),
            order_record=keys.order(command.order_id),
            open_orders=keys.open_orders(command.account),
            open_counts=keys.open_order_counts(command.account),
            commands=keys.commands(market.symbol),
            version=keys.LEDGER_VERSION,
            client_order=keys.client_order(command.account, command.client_order_id)
            if command.client_order_id
            else None,
        ),
        PlaceArgs(
            order_id=command.order_id,
            market=market.symbol,
            asset=asset,
            locked_field=keys.locked_field(asset),
            lock_units=locked,
            command=encode(command),
            command_field=keys.COMMAND_FIELD,
            client_order_ttl_s=CLIENT_ORDER_ID_TTL_S,
            terms=order_terms(market, command),
            max_open_orders=market.max_open_orders,
            record=msgspec.msgpack.encode(record.to_fields()),
        ),
    )
    return command, call


def place_result(command: PlaceOrder, reply: list[Any]) -> PlaceResult:
    outcome = PlaceOutcome(int(reply[0]))
    if outcome is PlaceOutcome.PLACED:
        return PlaceResult(outcome, command.order_id, command)
    if outcome in (PlaceOutcome.DUPLICATE, PlaceOutcome.CLIENT_ORDER_ID_REUSED):
        return PlaceResult(outcome, int(as_text(reply[1])))
    return PlaceResult(outcome, command.order_id)
