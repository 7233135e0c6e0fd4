"""Commands, events and snapshots survive msgpack exactly; old encodings still decode."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import pytest

from cryptex.wire import (
    AllOrdersCancelled,
    AmendOrder,
    AmendRejected,
    BookSnapshot,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Command,
    ControlRejected,
    Event,
    ExpireReason,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderType,
    PlaceOrder,
    RejectReason,
    RestingOrder,
    SelfTradePrevention,
    SetTradingState,
    Side,
    TakeSnapshot,
    TimeInForce,
    TradeExecuted,
    TradingState,
    TradingStateChanged,
    decode_command,
    decode_event,
    decode_snapshot,
    encode,
)

TS = 1_700_000_000_000

COMMANDS: list[Command] = [
    PlaceOrder(order_id=1, account=42, side=Side.BUY, price=10_050, quantity=5, ts=TS),
    PlaceOrder(
        order_id=2,
        account=42,
        side=Side.SELL,
        price=0,
        quantity=7,
        ts=TS,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        post_only=True,
        self_trade_prevention=SelfTradePrevention.EXPIRE_BOTH,
        protection_price=9_900,
        client_order_id="my-order-1",
    ),
    CancelOrder(order_id=1, account=42, ts=TS),
    SetTradingState(state=TradingState.HALTED, ts=TS, request_id="req-1"),
    CancelAllOrders(ts=TS, request_id="req-2"),
    TakeSnapshot(ts=TS, request_id="req-6"),
    AmendOrder(order_id=1, account=42, quantity=3, ts=TS, reply_to="api-1"),
    PlaceOrder(
        order_id=3,
        account=42,
        side=Side.SELL,
        price=9_800,
        quantity=2,
        ts=TS,
        order_type=OrderType.STOP_LOSS_LIMIT,
        stop_price=9_850,
    ),
]

EVENTS: list[Event] = [
    OrderAccepted(order_id=1, account=42, side=Side.BUY, price=10_050, quantity=5, ts=TS),
    OrderRejected(order_id=1, account=42, reason=RejectReason.POST_ONLY_WOULD_TAKE, ts=TS),
    TradeExecuted(
        trade_id=9,
        price=10_050,
        quantity=3,
        taker_side=Side.SELL,
        maker_order_id=1,
        maker_account=42,
        taker_order_id=2,
        taker_account=43,
        ts=TS,
    ),
    OrderFilled(order_id=1, account=42, ts=TS),
    OrderCancelled(order_id=1, account=42, remaining=2, ts=TS),
    CancelRejected(order_id=1, account=42, reason=RejectReason.UNKNOWN_ORDER, ts=TS),
    OrderExpired(order_id=2, account=43, remaining=4, reason=ExpireReason.SELF_TRADE, ts=TS),
    TradingStateChanged(
        previous=TradingState.ACTIVE, state=TradingState.CANCEL_ONLY, ts=TS, request_id="req-3"
    ),
    ControlRejected(reason=RejectReason.MARKET_CLOSED, ts=TS, request_id="req-4"),
    AllOrdersCancelled(count=3, ts=TS, request_id="req-5"),
    OrderAmended(order_id=1, account=42, side=Side.SELL, price=101, quantity=3, released=2, ts=TS),
    AmendRejected(order_id=1, account=42, reason=RejectReason.INVALID_ORDER, ts=TS),
    OrderTriggered(
        order_id=3, account=42, side=Side.SELL, price=9_800, quantity=2, stop_price=9_850, ts=TS
    ),
]


def name(message: msgspec.Struct) -> str:
    return type(message).__name__


def test_the_tables_cover_every_command_and_event() -> None:
    assert {type(c) for c in COMMANDS} == set(typing.get_args(Command))
    assert {type(e) for e in EVENTS} == set(typing.get_args(Event))


@pytest.mark.parametrize("command", COMMANDS, ids=name)
def test_a_command_round_trips(command: Command) -> None:
    assert decode_command(encode(command)) == command


@pytest.mark.parametrize("event", EVENTS, ids=name)
def test_an_event_round_trips(event: Event) -> None:
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize("event", EVENTS, ids=name)
def test_decode_command_refuses_an_event(event: Event) -> None:
    with pytest.raises(msgspec.ValidationError, match=f"Invalid value '{name(event)}'"):
        decode_command(encode(event))


@pytest.mark.parametrize("command", COMMANDS, ids=name)
def test_decode_event_refuses_a_command(command: Command) -> None:
    with pytest.raises(msgspec.ValidationError, match=f"Invalid value '{name(command)}'"):
        decode_event(encode(command))


@pytest.mark.parametrize("message", [*COMMANDS, *EVENTS], ids=name)
def test_messages_are_frozen(message: msgspec.Struct) -> None:
    field = message.__struct_fields__[0]
    with pytest.raises(AttributeError, match="immutable type"):
        setattr(message, field, 0)


@pytest.mark.parametrize(
    ("message", "array"),
    [
        (
            COMMANDS[1],
            [
                "PlaceOrder",
                2,
                42,
                "SELL",
                0,
                7,
                TS,
                "MARKET",
                "IOC",
                True,
                "EXPIRE_BOTH",
                9_900,
                "my-order-1",
                0,
                0,
                0,
                "",
                0,
                0,
            ],
        ),
        (
            SetTradingState(state=TradingState.PRE_OPEN, ts=TS),
            ["SetTradingState", "PreOpen", TS, ""],
        ),
        (
            OrderRejected(order_id=1, account=2, reason=RejectReason.INSUFFICIENT_FUNDS, ts=TS),
            ["OrderRejected", 1, 2, "INSUFFICIENT_FUNDS", TS],
        ),
        (
            OrderExpired(order_id=1, account=2, remaining=3, reason=ExpireReason.FOK, ts=TS),
            ["OrderExpired", 1, 2, 3, "FOK", TS],
        ),
        (
            TradingStateChanged(
                previous=TradingState.CANCEL_ONLY, state=TradingState.CLOSED, ts=TS
            ),
            ["TradingStateChanged", "CancelOnly", "Closed", TS, ""],
        ),
    ],
    ids=lambda value: name(value) if isinstance(value, msgspec.Struct) else "",
)
def test_messages_encode_as_tagged_arrays_with_enum_values(
    message: msgspec.Struct, array: list[Any]
) -> None:
    assert msgspec.msgpack.decode(encode(message)) == array


def test_decoded_enums_are_enum_members() -> None:
    decoded = decode_command(encode(COMMANDS[1]))
    assert isinstance(decoded, PlaceOrder)
    assert decoded.side is Side.SELL
    assert decoded.order_type is OrderType.MARKET
    assert decoded.time_in_force is TimeInForce.IOC
    assert decoded.self_trade_prevention is SelfTradePrevention.EXPIRE_BOTH


# ------------------------------------------------------------------------------ compatibility


def test_a_place_order_with_only_its_required_fields_decodes_with_the_defaults() -> None:
    data = msgspec.msgpack.encode(["PlaceOrder", 1, 42, "BUY", 10_050, 5, TS])
    decoded = decode_command(data)
    assert decoded == PlaceOrder(
        order_id=1,
        account=42,
        side=Side.BUY,
        price=10_050,
        quantity=5,
        ts=TS,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        post_only=False,
        self_trade_prevention=SelfTradePrevention.EXPIRE_MAKER,
        protection_price=0,
        client_order_id="",
        locked=0,
        maker_fee_bps=0,
        taker_fee_bps=0,
        reply_to="",
    )


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (
            ["SetTradingState", "Halted", TS],
            SetTradingState(state=TradingState.HALTED, ts=TS, request_id=""),
        ),
        (["CancelAllOrders", TS], CancelAllOrders(ts=TS, request_id="")),
    ],
)
def test_older_commands_without_a_request_id_decode(array: list[Any], expected: Command) -> None:
    assert decode_command(msgspec.msgpack.encode(array)) == expected


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (
            ["TradingStateChanged", "Active", "Halted", TS],
            TradingStateChanged(
                previous=TradingState.ACTIVE, state=TradingState.HALTED, ts=TS, request_id=""
            ),
        ),
        (
            ["ControlRejected", "MARKET_CLOSED", TS],
            ControlRejected(reason=RejectReason.MARKET_CLOSED, ts=TS, request_id=""),
        ),
        (["AllOrdersCancelled", 0, TS], AllOrdersCancelled(count=0, ts=TS, request_id="")),
    ],
)
def test_older_events_without_a_request_id_decode(array: list[Any], expected: Event) -> None:
    assert decode_event(msgspec.msgpack.encode(array)) == expected


@pytest.mark.parametrize(
    "array",
    [
        ["PlaceOrder", 1, 42, "BUY", 10_050, 5],  # ts missing
        ["PlaceOrder", 1, 42, "HOLD", 10_050, 5, TS],  # no such side
        ["CancelOrder", "1", 42, TS],  # an id that is not an integer
        ["Bogus", 1],
        [],
    ],
)
def test_malformed_commands_are_refused(array: list[Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_command(msgspec.msgpack.encode(array))


# ------------------------------------------------------------------------------ snapshots


@pytest.mark.parametrize(
    "snapshot",
    [
        BookSnapshot(
            trading_state=TradingState.CANCEL_ONLY,
            next_trade_id=8,
            update_id=21,
            orders=[
                RestingOrder(order_id=4, account=4, side=Side.BUY, price=99, remaining=4),
                RestingOrder(order_id=5, account=5, side=Side.BUY, price=98, remaining=6),
                RestingOrder(order_id=1, account=1, side=Side.SELL, price=101, remaining=5),
            ],
        ),
        BookSnapshot(trading_state=TradingState.PRE_OPEN, next_trade_id=1, update_id=0, orders=[]),
        BookSnapshot(
            trading_state=TradingState.ACTIVE,
            next_trade_id=3,
            update_id=2,
            orders=[],
            last_price=9_900,
            stops=[COMMANDS[-1]],  # type: ignore[list-item]
        ),
    ],
    ids=["orders", "empty", "waiting stops"],
)
def test_a_book_snapshot_round_trips(snapshot: BookSnapshot) -> None:
    assert decode_snapshot(encode(snapshot)) == snapshot


def test_decode_snapshot_refuses_a_command() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_snapshot(encode(COMMANDS[0]))


# ------------------------------------------------------------------------------ trading states


STATE_RULES = [  # (state, accepts orders, accepts cancels)
    (TradingState.PRE_OPEN, False, True),
    (TradingState.ACTIVE, True, True),
    (TradingState.CANCEL_ONLY, False, True),
    (TradingState.HALTED, False, False),
    (TradingState.CLOSED, False, False),
]


def test_the_table_covers_every_trading_state() -> None:
    assert [state for state, _, _ in STATE_RULES] == list(TradingState)


@pytest.mark.parametrize(("state", "orders", "cancels"), STATE_RULES)
def test_what_each_trading_state_accepts(state: TradingState, orders: bool, cancels: bool) -> None:
    assert state.accepts_orders is orders
    assert state.accepts_cancels is cancels


@pytest.mark.parametrize(
    ("state", "value"),
    [
        (TradingState.PRE_OPEN, "PreOpen"),
        (TradingState.ACTIVE, "Active"),
        (TradingState.CANCEL_ONLY, "CancelOnly"),
        (TradingState.HALTED, "Halted"),
        (TradingState.CLOSED, "Closed"),
    ],
)
def test_trading_states_are_named_as_in_manifests(state: TradingState, value: str) -> None:
    assert state.value == value


def test_a_snapshot_from_before_stops_decodes_without_a_last_price_or_stops() -> None:
    old = {"trading_state": "Active", "next_trade_id": 1, "update_id": 0, "orders": []}
    snapshot = decode_snapshot(msgspec.msgpack.encode(old))
    assert (snapshot.last_price, snapshot.stops) == (0, [])
