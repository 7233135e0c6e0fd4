"""Commands and events of a market: the structs that travel through Redis streams.

Every price is an integer number of ticks, every quantity an integer number of lots, every time
epoch milliseconds taken from the command (never from a clock), every account and order id an
integer. Structs are frozen, tagged by class name, and encoded as msgpack arrays: a field added
later must come last and have a default, so old entries still decode.

What each command produces, in order (a matching engine emits nothing else):

PlaceOrder
    OrderRejected                                  -- invalid, market not open, post-only taking
  | OrderAccepted
    then, for each maker met in price-time order:
        OrderExpired(maker, SELF_TRADE)            -- self-trade prevention EXPIRE_MAKER/BOTH
      | TradeExecuted, then OrderFilled(maker)     -- the latter when the maker has nothing left
    then at most one of, for the taker:
        OrderFilled                                -- nothing left
      | OrderExpired(IOC | FOK | SELF_TRADE)       -- remainder of IOC, FOK, market, or STP
                                                   -- (a market order with a quote budget
                                                   -- expires IOC once the budget cannot pay
                                                   -- for one more lot at the next maker)
      (nothing when a GTC remainder rests on the book)
CancelOrder
    OrderCancelled | CancelRejected
    then, while orders triggered by these trades remain (see "Stop orders" below):
        OrderTriggered, then that order's own trades and end as for a PlaceOrder above
        (without OrderAccepted, which it had when it was placed)
AmendOrder                                         -- lower a resting order's quantity
    OrderAmended                                   -- in place: its queue position is kept
  | AmendRejected                                  -- unknown, not the owner's, market closed
                                                   -- to cancels, or a quantity not below the
                                                   -- order's and above what it executed
SetTradingState
    TradingStateChanged | ControlRejected
CancelAllOrders
    OrderCancelled for each resting order, by order id, then AllOrdersCancelled
TakeSnapshot
    (no event: the engine writes its snapshot right after the batch that holds it, so the
    snapshot's last command id reaching this command's stream id is the acknowledgement)

Stop orders (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT) are accepted with
OrderAccepted and then wait, off the book, for the market's last trade price to reach their
stop price: a stop-loss buy and a take-profit sell when it rises to the stop price or above, a
stop-loss sell and a take-profit buy when it falls to it or below. One is refused
(STOP_WOULD_TRIGGER) if the last price has reached its stop already, and (NO_LAST_PRICE) while
the market has never traded. Triggered orders execute as limit (the *_LIMIT types) or market
orders, one after the other, in the order the price path crossed their stop prices (the path
runs from the last price to each taker's first trade, then to its last), stops crossed at the
same price in the order they were placed; their trades can trigger more, which follow. A
waiting stop is cancelled, amended and counted by CancelAllOrders like a resting order.

`DepthDiff`, `DepthSnapshot` and `BookSnapshot` are not events: they are market data and the
engine's persisted state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

# ------------------------------------------------------------------------------ enumerations


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    # Matches like IOC up to its protection price, so it never sweeps an empty book.
    MARKET = "MARKET"
    # Wait for the last trade price to reach `stop_price`, then execute as a market order
    # (STOP_LOSS, TAKE_PROFIT) or a limit order at `price` (the *_LIMIT types).
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"

    @property
    def is_stop(self) -> bool:
        return self in _STOP_TYPES

    @property
    def executes_as_market(self) -> bool:
        """A market order, or a stop that becomes one when triggered."""
        return self in _MARKET_LIKE_TYPES

    @property
    def triggered_type(self) -> OrderType:
        """What a stop executes as once triggered."""
        return OrderType.MARKET if self in _MARKET_LIKE_TYPES else OrderType.LIMIT

    def triggers_on_rise(self, side: Side) -> bool:
        """Whether a stop of this type triggers when the price rises to its stop price (a
        stop-loss buy, a take-profit sell), rather than falls to it."""
        is_stop_loss = self is OrderType.STOP_LOSS or self is OrderType.STOP_LOSS_LIMIT
        return is_stop_loss is (side is Side.BUY)


_STOP_TYPES: Final = frozenset(
    {
        OrderType.STOP_LOSS,
        OrderType.STOP_LOSS_LIMIT,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)
_MARKET_LIKE_TYPES: Final = frozenset(
    {OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT}
)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class SelfTradePrevention(StrEnum):
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"


class TradingState(StrEnum):
    PRE_OPEN = "PreOpen"  # orders refused, cancels accepted: the book is being prepared
    ACTIVE = "Active"
    CANCEL_ONLY = "CancelOnly"
    HALTED = "Halted"  # nothing from traders is accepted, not even cancels
    CLOSED = "Closed"  # terminal

    @property
    def accepts_orders(self) -> bool:
        return self is TradingState.ACTIVE

    @property
    def accepts_cancels(self) -> bool:
        return self in _CANCELLABLE_STATES


_CANCELLABLE_STATES: Final = frozenset(
    {TradingState.PRE_OPEN, TradingState.ACTIVE, TradingState.CANCEL_ONLY}
)


class RejectReason(StrEnum):
    INVALID_ORDER = "INVALID_ORDER"  # zero quantity, missing price, or a malformed combination
    # (an amend: a quantity not below the order's, or not above what it executed)
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    MARKET_NOT_OPEN = "MARKET_NOT_OPEN"  # PreOpen, CancelOnly, Halted or Closed
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"  # decided by the ledger before the engine
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # cancel of an order that is not resting (filled, gone)
    NOT_ORDER_OWNER = "NOT_ORDER_OWNER"
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"  # cancel of an order the ledger holds filled or ended
    MARKET_CLOSED = "MARKET_CLOSED"  # a trading-state change asked of a Closed market
    ORDER_TYPE_NOT_ALLOWED = "ORDER_TYPE_NOT_ALLOWED"  # not in the market's orderTypes
    # A stop whose stop price the last trade price has already reached: it would trigger at once.
    STOP_WOULD_TRIGGER = "STOP_WOULD_TRIGGER"
    NO_LAST_PRICE = "NO_LAST_PRICE"  # a stop in a market that has never traded


class OrderStatus(StrEnum):
    NEW = "NEW"  # a stop order stays NEW while it waits for its stop price
    TRIGGERED = "TRIGGERED"  # a stop order reached its stop price and executes (or rests)
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in _OPEN_STATUSES


_OPEN_STATUSES: Final = frozenset(
    {OrderStatus.NEW, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED}
)


class ExpireReason(StrEnum):
    IOC = "IOC"  # also the remainder of a market order at its protection price
    FOK = "FOK"
    SELF_TRADE = "SELF_TRADE"


# ------------------------------------------------------------------------------ commands


class _Wire(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Base of every command and event (never on the wire itself)."""


class PlaceOrder(_Wire, frozen=True):
    order_id: int
    account: int
    side: Side
    price: int  # ticks; 0 for a market order
    quantity: int  # lots
    ts: int  # epoch ms
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.EXPIRE_MAKER
    protection_price: int = 0  # ticks; a market order's worst acceptable price
    client_order_id: str = ""
    # Set by the ledger when it locked the funds: the order settles with exactly these, so a
    # replay gives the same balances even if the market's fees have changed since.
    locked: int = 0  # units of the quote asset for a buy, of the base asset for a sell
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    reply_to: str = ""  # the API instance waiting for the outcome
    # A market order's budget in tick-lots (price ticks x lots, so notional / quote units per
    # tick-lot): a buy spends, a sell receives, at most this much; `quantity` still caps its
    # lots. 0: none, the order is bounded by `quantity` alone.
    quote_budget: int = 0
    stop_price: int = 0  # ticks; a stop order's trigger price, 0 for other types


class CancelOrder(_Wire, frozen=True):
    order_id: int
    account: int
    ts: int
    reply_to: str = ""


class AmendOrder(_Wire, frozen=True):
    """Lower a resting order's quantity; it keeps its place in its level's queue (Binance's
    order/amend/keepPriority)."""

    order_id: int
    account: int
    quantity: int  # lots: the order's new whole quantity, what it executed included
    ts: int
    reply_to: str = ""


class SetTradingState(_Wire, frozen=True):
    state: TradingState
    ts: int
    request_id: str = ""  # echoed in the acknowledgement, so the sender can wait for it


class CancelAllOrders(_Wire, frozen=True):
    ts: int
    request_id: str = ""


class TakeSnapshot(_Wire, frozen=True):
    ts: int
    request_id: str = ""


Command = PlaceOrder | CancelOrder | SetTradingState | CancelAllOrders | TakeSnapshot | AmendOrder

# ------------------------------------------------------------------------------ events


class OrderAccepted(_Wire, frozen=True):
    order_id: int
    account: int
    side: Side
    price: int  # ticks; the protection price for a market order
    quantity: int  # lots
    ts: int


class OrderRejected(_Wire, frozen=True):
    order_id: int
    account: int
    reason: RejectReason
    ts: int


class TradeExecuted(_Wire, frozen=True):
    trade_id: int
    price: int  # ticks, always the maker's price
    quantity: int  # lots
    taker_side: Side
    maker_order_id: int
    maker_account: int
    taker_order_id: int
    taker_account: int
    ts: int


class OrderFilled(_Wire, frozen=True):
    order_id: int
    account: int
    ts: int


class OrderCancelled(_Wire, frozen=True):
    order_id: int
    account: int
    remaining: int  # lots that were still resting
    ts: int


class CancelRejected(_Wire, frozen=True):
    order_id: int
    account: int
    reason: RejectReason
    ts: int


class OrderExpired(_Wire, frozen=True):
    order_id: int
    account: int
    remaining: int  # lots that will never trade
    reason: ExpireReason
    ts: int


class OrderAmended(_Wire, frozen=True):
    order_id: int
    account: int
    side: Side
    price: int  # ticks
    quantity: int  # lots: the order's new whole quantity
    released: int  # lots taken off what it had left
    ts: int


class AmendRejected(_Wire, frozen=True):
    order_id: int
    account: int
    reason: RejectReason
    ts: int


class OrderTriggered(_Wire, frozen=True):
    """A waiting stop order reached its stop price: it now executes as a limit or market
    order (its trades and end follow)."""

    order_id: int
    account: int
    side: Side
    price: int  # ticks: its limit price, or its protection price for a stop-market order
    quantity: int  # lots
    stop_price: int  # ticks
    ts: int  # of the command whose trades triggered it


class TradingStateChanged(_Wire, frozen=True):
    previous: TradingState
    state: TradingState
    ts: int
    request_id: str = ""


class ControlRejected(_Wire, frozen=True):
    reason: RejectReason
    ts: int
    request_id: str = ""


class AllOrdersCancelled(_Wire, frozen=True):
    count: int
    ts: int
    request_id: str = ""


Event = (
    OrderAccepted
    | OrderRejected
    | TradeExecuted
    | OrderFilled
    | OrderCancelled
    | CancelRejected
    | OrderExpired
    | TradingStateChanged
    | ControlRejected
    | AllOrdersCancelled
    | OrderAmended
    | AmendRejected
    | OrderTriggered
)

# ------------------------------------------------------------------------------ market data


class PriceLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    price: int  # ticks
    quantity: int  # lots; 0 in a diff means the level is gone


class DepthDiff(msgspec.Struct, frozen=True, gc=False):
    """Levels changed between two update ids; apply after a snapshot with `last_update_id`."""

    first_update_id: int
    last_update_id: int
    bids: list[PriceLevel]
    asks: list[PriceLevel]


class DepthSnapshot(msgspec.Struct, frozen=True, gc=False):
    last_update_id: int
    bids: list[PriceLevel]  # best first
    asks: list[PriceLevel]  # best first


class RestingOrder(msgspec.Struct, frozen=True, array_like=True, gc=False):
    order_id: int
    account: int
    side: Side
    price: int  # ticks
    remaining: int  # lots
    quantity: int = 0  # lots: its whole quantity (0 in snapshots older than amends: remaining)


class BookSnapshot(msgspec.Struct, frozen=True, gc=False):
    """Everything a book needs to continue exactly where it was."""

    trading_state: TradingState
    next_trade_id: int
    update_id: int
    orders: list[RestingOrder]  # bids best first, then asks best first; time order in a level
    last_price: int = 0  # ticks of the last trade; 0: the market has not traded
    stops: list[PlaceOrder] = []  # waiting stop orders, oldest first


class PublicTrade(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A trade as everyone may see it: no accounts, no order ids."""

    trade_id: int
    price: int  # ticks
    quantity: int  # lots
    taker_side: Side
    ts: int


class Ticker(msgspec.Struct, frozen=True, gc=False):
    """24-hour rolling statistics, by the timestamps of the trades' commands."""

    last_price: int  # ticks
    open_price: int
    high_price: int
    low_price: int
    base_volume: int  # lots
    quote_volume: int  # quote units
    trade_count: int
    open_time: int  # epoch ms of the window's first minute
    close_time: int  # epoch ms of the last trade


class OrderFill(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One trade of an order, as its owner sees it."""

    trade_id: int
    price: int  # ticks
    quantity: int  # lots
    fee: int  # quote units this order paid for the trade
    maker: bool  # the order rested in the book when it traded


class OrderUpdate(msgspec.Struct, frozen=True, gc=False):
    """A private change of an order, for its owner's `orders@me` stream."""

    order_id: int
    account: int
    status: OrderStatus
    executed: int  # lots
    executed_quote: int  # quote units
    ts: int
    side: Side | None = None  # None only from an engine older than this field
    fill: OrderFill | None = None  # the trade this update comes from, if it comes from one


# ------------------------------------------------------------------------------ replies


class Fill(msgspec.Struct, frozen=True, array_like=True, gc=False):
    price: int  # ticks
    quantity: int  # lots
    trade_id: int


class OrderReply(msgspec.Struct, frozen=True, gc=False):
    """The engine's answer to the API process that sent a PlaceOrder or CancelOrder."""

    order_id: int
    status: OrderStatus
    executed: int  # lots
    fills: list[Fill] = []
    reason: str = ""  # the RejectReason of a refused order or cancel


# ------------------------------------------------------------------------------ engine state


class OrderFunds(msgspec.Struct, array_like=True, gc=False):
    """What an open order still holds: mutable, owned by the engine, snapshotted with it."""

    order_id: int
    account: int
    side: Side
    locked: int  # units still locked (quote for a buy, base for a sell)
    executed: int  # lots
    executed_quote: int  # quote units
    maker_fee_bps: int
    taker_fee_bps: int


class EngineSnapshot(msgspec.Struct, frozen=True, gc=False):
    """The engine's whole state as of command `last_command_id` (a stream id)."""

    last_command_id: str
    book: BookSnapshot
    funds: list[OrderFunds]
    ticker_buckets: list[list[int]] = []  # see cryptex_engine.ticker


# ------------------------------------------------------------------------------ codecs

_encoder: Final = msgspec.msgpack.Encoder()
command_decoder: Final[msgspec.msgpack.Decoder[Command]] = msgspec.msgpack.Decoder(Command)
event_decoder: Final[msgspec.msgpack.Decoder[Event]] = msgspec.msgpack.Decoder(Event)
snapshot_decoder: Final = msgspec.msgpack.Decoder(BookSnapshot)
engine_snapshot_decoder: Final = msgspec.msgpack.Decoder(EngineSnapshot)
reply_decoder: Final = msgspec.msgpack.Decoder(OrderReply)


def encode(message: object) -> bytes:
    """msgpack of a struct, or of a list of structs."""
    return _encoder.encode(message)


def decode_command(data: bytes) -> Command:
    return command_decoder.decode(data)


def decode_event(data: bytes) -> Event:
    return event_decoder.decode(data)


def decode_snapshot(data: bytes) -> BookSnapshot:
    return snapshot_decoder.decode(data)


def decode_engine_snapshot(data: bytes) -> EngineSnapshot:
    return engine_snapshot_decoder.decode(data)


def decode_reply(data: bytes) -> OrderReply:
    return reply_decoder.decode(data)
