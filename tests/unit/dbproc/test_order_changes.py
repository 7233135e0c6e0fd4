"""Order history rows: a batch's change counts only trades inserted now, a final status is
final, and a first row takes its static fields from the event and the ledger's record."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from cryptex.ledger import OrderRecord
from cryptex.markets import load_manifest
from cryptex.wire import (
    OrderAccepted,
    OrderAmended,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    RejectReason,
    Side,
    TradeExecuted,
    encode,
)
from cryptex_dbproc.batch import Closing, collect
from cryptex_dbproc.orders import (
    OrderChange,
    OrderRow,
    Placement,
    changes,
    placed_row,
    recorded_row,
    status_after,
)

SOL_USDC = load_manifest(Path(__file__).resolve().parents[3] / "crds/examples/sol-usdc.yaml")
TS = 1_700_000_000_123


def placement(**fields: object) -> Placement:
    values: dict[str, object] = {
        "market": "SOL_USDC", "account": 8, "side": Side.BUY, "price": 15_100, "quantity": 1_500,
        "order_type": "LIMIT", "time_in_force": "IOC", "client_order_id": "mine-1", "created": TS,
    }  # fmt: skip
    return Placement(**{**values, **fields})  # type: ignore[arg-type]


def test_only_trades_inserted_now_add_to_executed_amounts() -> None:
    batch = collect([("1-0", {b"e": encode([
        TradeExecuted(1, 15_000, 1_500, Side.BUY, 1, 7, 2, 8, TS),
        TradeExecuted(2, 15_010, 500, Side.BUY, 3, 7, 2, 8, TS + 5),
        OrderFilled(2, 8, TS + 5),
    ])})])  # fmt: skip
    fresh = changes(batch, {2}, SOL_USDC)  # trade 1 was written by an earlier delivery
    assert fresh == {
        1: OrderChange(updated=TS),
        2: OrderChange(500, 75_050_000, Closing(OrderStatus.FILLED), TS + 5),
        3: OrderChange(500, 75_050_000, None, TS + 5),
    }
    assert not fresh[1].changes_anything
    again = changes(batch, set(), SOL_USDC)
    assert again[2] == OrderChange(0, 0, Closing(OrderStatus.FILLED), TS + 5)


def test_a_final_status_is_never_replaced() -> None:
    filled, expired = Closing(OrderStatus.FILLED), Closing(OrderStatus.EXPIRED, "IOC")
    assert status_after(OrderStatus.NEW, 0, None) is OrderStatus.NEW
    assert status_after(OrderStatus.NEW, 10, None) is OrderStatus.PARTIALLY_FILLED
    assert status_after(OrderStatus.PARTIALLY_FILLED, 10, expired) is OrderStatus.EXPIRED
    assert status_after(OrderStatus.FILLED, 10, None) is OrderStatus.FILLED
    assert status_after(OrderStatus.CANCELED, 10, filled) is OrderStatus.CANCELED


def test_a_placed_order_takes_its_static_fields_from_the_ledger_record() -> None:
    accepted = OrderAccepted(2, 8, Side.BUY, 15_100, 1_500, TS)
    change = OrderChange(1_500, 225_000_000, Closing(OrderStatus.FILLED), TS + 1)
    assert placed_row(accepted, placement(), change) == OrderRow(
        order_id=2, account=8, side="BUY", order_type="LIMIT", time_in_force="IOC",
        price=15_100, quantity=1_500, executed=1_500, executed_quote=225_000_000,
        status="FILLED", reason="", client_order_id="mine-1", created=TS, updated=TS + 1,
    )  # fmt: skip


def test_without_a_record_an_accepted_order_gets_wire_defaults_a_rejected_one_no_row() -> None:
    accepted = OrderAccepted(2, 8, Side.SELL, 15_100, 1_500, TS)
    row = placed_row(accepted, None, OrderChange(updated=TS))
    assert row is not None
    assert (row.order_type, row.time_in_force, row.client_order_id, row.status) == (
        "LIMIT", "GTC", "", "NEW",
    )  # fmt: skip
    rejected = OrderRejected(3, 8, RejectReason.MARKET_NOT_OPEN, TS)
    closing = OrderChange(closing=Closing(OrderStatus.REJECTED, "MARKET_NOT_OPEN"), updated=TS)
    assert placed_row(rejected, None, closing) is None
    row = placed_row(rejected, placement(side=Side.SELL), closing)
    assert row is not None
    assert (row.side, row.price, row.status, row.reason, row.executed) == (
        "SELL", 15_100, "REJECTED", "MARKET_NOT_OPEN", 0,
    )  # fmt: skip


def test_an_order_seen_before_its_placement_starts_from_its_record_as_placed() -> None:
    row = recorded_row(4, placement())
    assert (row.order_id, row.side, row.price, row.client_order_id) == (4, "BUY", 15_100, "mine-1")
    assert (row.executed, row.executed_quote, row.status) == (0, 0, "NEW")
    assert row.created == row.updated == TS


def test_a_placement_is_read_from_the_ledger_records_fields_by_their_names() -> None:
    assert set(Placement._fields) <= set(OrderRecord.__struct_fields__)
    record = OrderRecord(
        order_id=4, market="SOL_USDC", account=8, side=Side.BUY, order_type="LIMIT",
        time_in_force="IOC", price=15_100, quantity=1_500, lock_asset="USDC", locked=0,
        client_order_id="mine-1", created=TS, updated=TS,
    )  # fmt: skip
    fields = dict(zip(record.to_fields()[::2], record.to_fields()[1::2], strict=True))
    assert Placement.from_values([fields[name] for name in Placement._fields]) == placement()
    with pytest.raises(msgspec.ValidationError):
        Placement.from_values([*(fields[name] for name in Placement._fields[:-1]), "yesterday"])


def test_an_amend_lowers_the_quantity_to_its_lowest_in_any_order() -> None:
    batch = collect([("1-0", {b"e": encode([
        OrderAccepted(2, 8, Side.BUY, 15_100, 1_500, TS),
        OrderAmended(2, 8, Side.BUY, 15_100, 900, 600, TS + 2),
        OrderAmended(2, 8, Side.BUY, 15_100, 1_200, 300, TS + 1),  # older, written later
    ])})])  # fmt: skip
    change = changes(batch, set(), SOL_USDC)[2]
    assert (change.quantity, change.updated, change.changes_anything) == (900, TS + 2, True)
    accepted = batch.placed[2]
    row = placed_row(accepted, placement(), change)
    assert row is not None
    assert (row.quantity, row.status) == (900, "NEW")
