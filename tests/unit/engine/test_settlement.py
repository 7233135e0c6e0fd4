"""Settlement of the book's events, as plain values: the exact moves of a trade, the release of
what an order did not spend, and the sender's reply."""

from __future__ import annotations

from pathlib import Path

from cryptex import keys
from cryptex.ledger import SettleBatch
from cryptex.markets import MarketSpec, load_manifest
from cryptex.wire import (
    AmendOrder,
    Fill,
    OrderReply,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from cryptex_engine.book import OrderBook
from cryptex_engine.settlement import BatchOutcome, Settlement
from cryptex_engine.ticker import RollingTicker

SOL_USDC = load_manifest(Path(__file__).resolve().parents[3] / "crds/examples/sol-usdc.yaml")


def placed(market: MarketSpec, order_id: int, account: int, side: Side, ticks: int, lots: int,
           **options: object) -> PlaceOrder:  # fmt: skip
    locked = market.buy_lock(ticks, lots) if side is Side.BUY else market.sell_lock(lots)
    return PlaceOrder(
        order_id, account, side, ticks, lots, 1_000, locked=locked, maker_fee_bps=10,
        taker_fee_bps=20, reply_to="api-1", **options,  # type: ignore[arg-type]
    )  # fmt: skip


def settle(
    commands: list[PlaceOrder | AmendOrder],
) -> tuple[SettleBatch, BatchOutcome, Settlement]:
    book, settlement = OrderBook(), Settlement(SOL_USDC, {}, RollingTicker())
    batch, outcome = SettleBatch(), BatchOutcome()
    for command in commands:
        settlement.apply(command, book.apply(command), batch, outcome)
    return batch, outcome, settlement


def moves(batch: SettleBatch) -> dict[tuple[int, str], int]:
    return {key: delta for key, delta in batch._moves.items() if delta}


def test_a_trade_moves_exact_amounts_and_fees() -> None:
    buy_lock = SOL_USDC.buy_lock(15_100, 1_500)
    batch, outcome, settlement = settle([
        placed(SOL_USDC, 1, 2, Side.SELL, 15_000, 2_000),
        placed(SOL_USDC, 2, 1, Side.BUY, 15_100, 1_500),
    ])  # fmt: skip
    notional = 225_000_000  # 1.5 SOL x 150 USDC
    taker_fee, maker_fee = 450_000, 225_000
    assert moves(batch) == {
        (2, "SOL:locked"): -150_000_000,  # 1.5 of the 2 SOL the sell locked
        (2, "USDC"): notional - maker_fee,
        (1, "USDC:locked"): -(notional + taker_fee) - (buy_lock - notional - taker_fee),
        (1, "USDC"): buy_lock - notional - taker_fee,  # what the 151 limit did not need
        (1, "SOL"): 150_000_000,
        (keys.FEE_ACCOUNT, "USDC"): taker_fee + maker_fee,
    }
    assert settlement.funds[1].locked == 50_000_000
    assert list(settlement.funds) == [1]
    assert outcome.replies["api-1"][-1] == OrderReply(
        2, OrderStatus.FILLED, 1_500, [Fill(15_000, 1_500, 1)]
    )


def test_an_order_that_does_not_trade_only_locks() -> None:
    batch, outcome, settlement = settle([placed(SOL_USDC, 1, 1, Side.BUY, 10_000, 100)])
    assert moves(batch) == {}
    assert outcome.replies["api-1"] == [OrderReply(1, OrderStatus.NEW, 0)]
    assert settlement.funds[1].locked == SOL_USDC.buy_lock(10_000, 100)


def test_an_expired_ioc_gives_back_its_whole_lock() -> None:
    command = placed(SOL_USDC, 1, 1, Side.BUY, 10_000, 100, time_in_force=TimeInForce.IOC)
    batch, outcome, settlement = settle([command])
    assert moves(batch) == {(1, "USDC:locked"): -command.locked, (1, "USDC"): command.locked}
    assert outcome.replies["api-1"] == [OrderReply(1, OrderStatus.EXPIRED, 0, [], "IOC")]
    assert settlement.funds == {}


def test_a_book_rejection_gives_back_the_commands_lock() -> None:
    command = placed(SOL_USDC, 1, 1, Side.SELL, 10_000, 0)  # zero quantity: rejected
    batch, outcome, _ = settle([command])
    assert outcome.replies["api-1"] == [OrderReply(1, OrderStatus.REJECTED, 0, [], "INVALID_ORDER")]
    assert moves(batch) == {}  # it locked nothing, so nothing comes back


def test_an_amend_releases_the_lock_of_the_lots_taken_off() -> None:
    buy = placed(SOL_USDC, 1, 1, Side.BUY, 10_000, 100)
    batch, outcome, settlement = settle([
        placed(SOL_USDC, 2, 2, Side.SELL, 10_000, 30),
        buy,  # takes 30 lots, rests 70
        AmendOrder(1, 1, 40, 1_000, "api-1"),  # 60 lots taken off
    ])  # fmt: skip
    released = SOL_USDC.buy_lock(10_000, 60)
    assert moves(batch)[(1, "USDC")] == released
    # The 30 lots it took used their whole per-lot lock (the 0.2 % taker fee is the reserve):
    # what is left is exactly the lock of the 10 lots still resting.
    assert settlement.funds[1].locked == SOL_USDC.buy_lock(10_000, 10)
    assert batch._records[1]["quantity"] == "40"
    assert outcome.replies["api-1"][-1] == OrderReply(1, OrderStatus.PARTIALLY_FILLED, 30)


def test_a_triggered_stop_settles_with_the_lock_taken_when_it_was_placed() -> None:
    stop_lock = SOL_USDC.buy_lock(16_000, 100)
    batch, outcome, settlement = settle([
        placed(SOL_USDC, 1, 2, Side.SELL, 15_000, 10),
        placed(SOL_USDC, 2, 3, Side.BUY, 15_000, 10),  # the last price: 150
        placed(SOL_USDC, 3, 2, Side.SELL, 15_100, 500),
        placed(SOL_USDC, 4, 1, Side.BUY, 16_000, 100, order_type=OrderType.STOP_LOSS_LIMIT,
               stop_price=15_100),
        placed(SOL_USDC, 5, 3, Side.BUY, 15_100, 10),
    ])  # fmt: skip
    # Order 5 trades at 151 and triggers order 4, which buys its 100 lots at 151 as a taker.
    assert 4 not in settlement.funds
    statuses = [u.status for u in outcome.updates if u.order_id == 4]
    assert statuses == [  # NEW when it is accepted (waiting), as every accepted order
        OrderStatus.NEW,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    notional = SOL_USDC.notional(15_100, 100)
    taker_fee = SOL_USDC.fee(notional, maker=False)
    assert moves(batch)[(1, "USDC")] == stop_lock - notional - taker_fee  # the rest, released
    assert moves(batch)[(1, "USDC:locked")] == -stop_lock
    # The reply to order 5 counts its own trade only, not the one it triggered.
    assert outcome.replies["api-1"][-1] == OrderReply(
        5, OrderStatus.FILLED, 10, [Fill(15_100, 10, 2)]
    )
